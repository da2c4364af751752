import Endpoints
import Foundation
import Signing
import StrictYAML

/// What the operator of a disconnected site knows and the vendor cannot (`kind: Site`): where the
/// private registry is, the proxy, the CA of a TLS-intercepting proxy, the namespace, and which
/// Kubernetes secret holds each credential the bundle's endpoints need. It names secrets, never
/// holds them: a literal credential, or a password in a URL, is refused.
public struct Site: Sendable {
    public static let kind = "Site"

    /// A Kubernetes secret and the key in it.
    public struct SecretKey: Sendable, Equatable, Codable {
        public var name: String
        public var key: String
    }

    /// The secrets one endpoint of the bundle reads: for its auth, and for headers by name.
    public struct EndpointSecrets: Sendable {
        public var auth: SecretKey?
        public var headers: [String: SecretKey]
    }

    public var name: String
    /// `HOST[:PORT][/PREFIX]`, as given to `airlock push --registry`.
    public var registry: String?
    /// push's `mapping.json` (source → target, push rules included), resolved against the site file.
    public var mapping: String?
    public var namespace: String
    public var proxy: ModelEndpoint.Proxy?
    /// PEM CA bundles, resolved against the site file's folder, with their contents.
    public var caFiles: [(name: String, pem: [UInt8])]
    /// The ConfigMap the CA bundle is written as.
    public var caConfigMap: String
    public var secrets: [String: EndpointSecrets]
    public var file: String
}

extension Site {
    /// Reads and validates a `kind: Site` file.
    public static func load(path: String) throws -> Site {
        let document = try AirlockDocument(path: path, kind: kind)
        let (metadata, specNode) = (document.metadata, document.spec)
        let spec = try specNode.mapping(allowed: ["registry", "mapping", "namespace", "proxy", "caFiles", "caConfigMap", "secrets"])
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        func resolve(_ written: String) -> String { written.hasPrefix("/") ? written : folder.appendingPathComponent(written).path }

        let registry = try spec.optionalString("registry")
        if let registry, let node = spec["registry"] { try checkRegistry(registry, node: node) }
        let mapping = try spec.optionalString("mapping").map(resolve)
        if let mapping, !FileManager.default.isReadableFile(atPath: mapping) {
            throw spec["mapping"]!.error("\(mapping) does not exist or is not readable (push writes it to --config-dir)")
        }
        guard registry != nil || mapping != nil else {
            throw specNode.error("give registry: HOST[:PORT][/PREFIX], or mapping: the mapping.json push wrote")
        }
        let namespace = try spec.optionalString("namespace") ?? "default"
        guard isDNSLabel(namespace) else { throw spec["namespace"]!.error("\"\(namespace)\" is not a Kubernetes namespace name") }
        let caConfigMap = try spec.optionalString("caConfigMap") ?? "airlock-ca"
        guard isDNSLabel(caConfigMap) else { throw spec["caConfigMap"]!.error("\"\(caConfigMap)\" is not a ConfigMap name") }
        var caFiles: [(name: String, pem: [UInt8])] = []
        for node in try spec.list("caFiles") {
            let full = resolve(try node.scalar())
            guard let bytes = FileManager.default.contents(atPath: full) else {
                throw node.error("\(full) does not exist or is not readable")
            }
            do { _ = try parseCertificateBundle(Array(bytes)) } catch { throw node.error("\(full): \(error)") }
            caFiles.append((URL(fileURLWithPath: full).lastPathComponent, Array(bytes)))
        }
        var secrets: [String: EndpointSecrets] = [:]
        for node in try spec.list("secrets") {
            let entry = try node.mapping(allowed: ["endpoint", "auth", "headers"])
            let endpoint = try entry.string("endpoint")
            guard secrets[endpoint] == nil else { throw node.error("endpoint \(endpoint) is listed twice under secrets") }
            var headers: [String: SecretKey] = [:]
            for (header, value) in try entry["headers"]?.entries() ?? [] { headers[header.lowercased()] = try secretKey(value) }
            secrets[endpoint] = EndpointSecrets(auth: try entry["auth"].map(secretKey), headers: headers)
        }
        return Site(
            name: try metadata.string("name"),
            registry: registry,
            mapping: mapping,
            namespace: namespace,
            proxy: try spec["proxy"].map(ModelEndpoint.parseProxy),
            caFiles: caFiles,
            caConfigMap: caConfigMap,
            secrets: secrets,
            file: path
        )
    }

    /// `{name: SECRET, key: KEY}`; anything that could hold the value itself is refused.
    private static func secretKey(_ node: YAMLNode) throws -> SecretKey {
        guard node.isMapping else {
            throw node.error("literal credentials are refused; name the Kubernetes secret that holds it: {name: SECRET, key: KEY}")
        }
        let map = try node.mapping(allowed: ["name", "key", "value"])
        if let literal = map["value"] {
            throw literal.error("literal credentials are refused; name the Kubernetes secret that holds it: {name: SECRET, key: KEY}")
        }
        let name = try map.string("name")
        guard isDNSSubdomain(name) else { throw map["name"]!.error("\"\(name)\" is not a Kubernetes secret name") }
        let key = try map.string("key")
        guard key.range(of: "^[-._a-zA-Z0-9]+$", options: .regularExpression) != nil else {
            throw map["key"]!.error("\"\(key)\" is not a secret key (letters, digits, -, _ and .)")
        }
        return SecretKey(name: name, key: key)
    }

    private static func checkRegistry(_ text: String, node: YAMLNode) throws {
        if text.contains("://") { throw node.error("give HOST[:PORT][/PREFIX] without a scheme, as push --registry takes it") }
        if text.split(separator: "/").first?.contains("@") == true {
            throw node.error("credentials in the registry address are refused; airlock login stores them")
        }
        do { _ = try PushTarget(text) } catch { throw node.error("\(error)") }
    }

    private static func isDNSLabel(_ text: String) -> Bool {
        text.count <= 63 && text.range(of: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", options: .regularExpression) != nil
    }

    private static func isDNSSubdomain(_ text: String) -> Bool {
        text.count <= 253 && text.range(of: "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", options: .regularExpression) != nil
    }
}
