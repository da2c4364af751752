import Foundation
import Signing
import StrictYAML

/// The network paths a platform needs besides its model endpoints, and those it must not have
/// (`kind: Egress`): `reach:` entries that must answer through the given path, `block:` entries
/// that must fail both directly and through the proxy.
public struct Egress: Sendable, Equatable {
    public static let kind = "Egress"

    public enum Route: String, Sendable, Codable {
        case proxy, direct
    }

    /// A path that must work: any HTTP answer through `via` proves it.
    public struct Reach: Sendable, Equatable {
        public var name: String
        public var url: String
        public var via: Route
        /// The CA file as written (relative to the Egress file), and its PEM.
        public var caFile: String?
        public var caPEM: [UInt8]?
    }

    /// A path that must fail: `url` (an http or https URL) or `host:port`.
    public struct Block: Sendable, Equatable {
        public var name: String
        public var target: String
        public var host: String
        public var port: Int
        /// The target is an `http://` URL (through a proxy it is asked with GET, not CONNECT).
        public var plainHTTP: Bool
    }

    public var name: String
    public var reach: [Reach]
    public var block: [Block]

    /// Reads and validates a `kind: Egress` file; CA files are read relative to it.
    public static func load(path: String) throws -> Egress {
        let document = try AirlockDocument(path: path, kind: kind)
        let metadata = document.metadata
        let name = try metadata.string("name")
        guard isDNSLabel(name) else {
            throw metadata["name"]!.error("must be a lowercase DNS label (a-z, 0-9, -), as it names files in the bundle")
        }
        let specNode = document.spec
        let spec = try specNode.mapping(allowed: ["reach", "block"])
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        var names: Set<String> = []
        func uniqueName(_ map: YAMLMapping) throws -> String {
            let name = try map.string("name")
            guard names.insert(name).inserted else { throw map["name"]!.error("two entries are named \(name)") }
            return name
        }
        let reach = try spec.list("reach").map { node -> Reach in
            let map = try node.mapping(allowed: ["name", "url", "via", "caFile"])
            let name = try uniqueName(map)
            let url = try map.string("url")
            guard let components = URLComponents(string: url), ["http", "https"].contains(components.scheme ?? ""),
                components.host?.isEmpty == false
            else { throw map["url"]!.error("\"\(url)\" is not an http or https URL") }
            if components.user != nil || components.password != nil {
                throw map["url"]!.error("credentials in a URL are refused; airlock never carries secrets")
            }
            let viaText = try map.optionalString("via") ?? "proxy"
            guard let via = Route(rawValue: viaText) else { throw map["via"]!.error("via must be proxy or direct, not \(viaText)") }
            var caPEM: [UInt8]?
            let caFile = try map.optionalString("caFile")
            if let caFile {
                let full = caFile.hasPrefix("/") ? caFile : folder.appendingPathComponent(caFile).path
                guard let bytes = FileManager.default.contents(atPath: full) else {
                    throw map["caFile"]!.error("\(full) does not exist or is not readable")
                }
                do { _ = try parseCertificateBundle(Array(bytes)) } catch { throw map["caFile"]!.error("\(full): \(error)") }
                caPEM = Array(bytes)
            }
            return Reach(name: name, url: url, via: via, caFile: caFile, caPEM: caPEM)
        }
        let block = try spec.list("block").map { node -> Block in
            let map = try node.mapping(allowed: ["name", "url", "host"])
            let name = try uniqueName(map)
            guard (map["url"] == nil) != (map["host"] == nil) else { throw node.error("give exactly one of url or host (HOST:PORT)") }
            if let url = try map.optionalString("url") {
                guard let components = URLComponents(string: url), let scheme = components.scheme, ["http", "https"].contains(scheme),
                    let host = components.host, !host.isEmpty
                else { throw map["url"]!.error("\"\(url)\" is not an http or https URL") }
                let port = components.port ?? (scheme == "https" ? 443 : 80)
                return Block(name: name, target: url, host: host, port: port, plainHTTP: scheme == "http")
            }
            let text = try map.string("host")
            guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port),
                colon != text.startIndex
            else { throw map["host"]!.error("\"\(text)\" is not HOST:PORT") }
            let host = String(text[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            return Block(name: name, target: text, host: host, port: port, plainHTTP: false)
        }
        guard !reach.isEmpty || !block.isEmpty else { throw specNode.error("an Egress document needs reach: or block: entries") }
        return Egress(name: name, reach: reach, block: block)
    }

    /// The document as a bundle carries it: each CA file renamed to `caFileName(entry)`, beside it.
    public func canonicalYAML() -> String {
        func quote(_ text: String) -> String {
            "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        var text = "apiVersion: \(ModelEndpoint.apiVersion)\nkind: \(Self.kind)\nmetadata:\n  name: \(name)\nspec:\n"
        if !reach.isEmpty {
            text += "  reach:\n"
            for entry in reach {
                text += "    - name: \(quote(entry.name))\n      url: \(quote(entry.url))\n      via: \(entry.via.rawValue)\n"
                if entry.caPEM != nil { text += "      caFile: \(quote(caFileName(entry)))\n" }
            }
        }
        if !block.isEmpty {
            text += "  block:\n"
            for entry in block {
                let key = entry.target.contains("://") ? "url" : "host"
                text += "    - name: \(quote(entry.name))\n      \(key): \(quote(entry.target))\n"
            }
        }
        return text
    }

    /// The name a bundle gives a reach entry's CA file.
    public func caFileName(_ entry: Reach) -> String {
        let safe = entry.name.lowercased().map { $0.isLetter || $0.isNumber ? String($0) : "-" }.joined()
        return "\(name).\(safe).ca.pem"
    }
}
