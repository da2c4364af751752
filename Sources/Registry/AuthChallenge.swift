/// A `WWW-Authenticate` challenge: `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`.
public struct AuthChallenge: Sendable, Equatable {
    public enum Scheme: String, Sendable { case basic, bearer }

    public let scheme: Scheme
    public let parameters: [String: String]

    public var realm: String? { parameters["realm"] }
    public var service: String? { parameters["service"] }
    public var scope: String? { parameters["scope"] }
    /// `insufficient_scope` when the credentials were good but lack the permission asked for.
    public var error: String? { parameters["error"] }

    /// Every Bearer and Basic challenge in the `WWW-Authenticate` headers of an answer (a proxy may
    /// offer Negotiate first, or send several headers), Bearer first: the one to answer.
    public static func best(in headers: [String]) -> AuthChallenge? {
        var found: [AuthChallenge] = []
        for header in headers {
            var rest = Substring(header)
            while let (challenge, remainder) = Self.next(in: rest) {
                found.append(challenge)
                rest = remainder
            }
        }
        return found.first { $0.scheme == .bearer } ?? found.first
    }

    private init(scheme: Scheme, parameters: [String: String]) {
        self.scheme = scheme
        self.parameters = parameters
    }

    /// The next Bearer or Basic challenge in `input`, skipping other schemes.
    private static func next(in input: Substring) -> (AuthChallenge, Substring)? {
        var rest = input
        while true {
            rest = rest.drop { $0 == " " || $0 == "," }
            guard !rest.isEmpty else { return nil }
            let schemeEnd = rest.firstIndex(where: { $0 == " " || $0 == "," }) ?? rest.endIndex
            let name = rest[..<schemeEnd].lowercased()
            rest = rest[schemeEnd...]
            let (parameters, remainder) = parseParameters(rest)
            rest = remainder
            if let scheme = Scheme(rawValue: name) { return (AuthChallenge(scheme: scheme, parameters: parameters), rest) }
            if parameters.isEmpty, let token = rest.drop(while: { $0 == " " }).first, token != "," {
                // A scheme with a token68 (Negotiate abc==): skip the token.
                rest = rest.drop(while: { $0 == " " }).drop(while: { $0 != "," })
            }
        }
    }

    /// Parses the first Bearer or Basic challenge of a header value; nil if there is none.
    public init?(header: String) {
        guard let (challenge, _) = Self.next(in: Substring(header)) else { return nil }
        self = challenge
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
