/// A `WWW-Authenticate` challenge: `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`.
public struct AuthChallenge: Sendable, Equatable {
    public enum Scheme: String, Sendable { case basic, bearer }

    public let scheme: Scheme
    public let parameters: [String: String]

    public var realm: String? { parameters["realm"] }
    public var service: String? { parameters["service"] }
    public var scope: String? { parameters["scope"] }

    /// Parses the first Bearer or Basic challenge of a header value; nil if there is none.
    public init?(header: String) {
        var rest = Substring(header)
        while true {
            rest = rest.drop { $0 == " " || $0 == "," }
            guard !rest.isEmpty else { return nil }
            let schemeEnd = rest.firstIndex(of: " ") ?? rest.endIndex
            let name = rest[..<schemeEnd].lowercased()
            rest = rest[schemeEnd...]
            let (parameters, remainder) = Self.parseParameters(rest)
            rest = remainder
            if let scheme = Scheme(rawValue: name) {
                self.scheme = scheme
                self.parameters = parameters
                return
            }
        }
    }

    /// Reads `key=value` / `key="quoted"` pairs up to the next challenge.
    private static func parseParameters(_ input: Substring) -> ([String: String], Substring) {
        var parameters: [String: String] = [:]
        var rest = input
        while true {
            rest = rest.drop { $0 == " " || $0 == "," }
            guard let equals = rest.firstIndex(of: "="), !rest[..<equals].contains(" ") else { return (parameters, rest) }
            let key = rest[..<equals].lowercased()
            rest = rest[rest.index(after: equals)...]
            var value = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                var escaped = false
                while let character = rest.first {
                    rest = rest.dropFirst()
                    if escaped { value.append(character); escaped = false; continue }
                    if character == "\\" { escaped = true; continue }
                    if character == "\"" { break }
                    value.append(character)
                }
            } else {
                let end = rest.firstIndex(where: { $0 == "," || $0 == " " }) ?? rest.endIndex
                value = String(rest[..<end])
                rest = rest[end...]
            }
            parameters[key] = value
        }
    }
}
