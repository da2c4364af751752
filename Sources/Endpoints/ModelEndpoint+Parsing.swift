import Foundation
import Signing
import StrictYAML

extension ModelEndpoint {
    public static let apiVersion = "airlock/v1"
    public static let kind = "ModelEndpoint"

    /// Reads and validates a `kind: ModelEndpoint` document from `path`. Relative `caFile` paths are
    /// resolved against the file's folder and the certificates are parsed.
    public static func load(path: String) throws -> (endpoint: ModelEndpoint, caPEM: [UInt8]?) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InputError(file: path, line: nil, "no such file or not readable")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw InputError(file: path, line: nil, "not UTF-8 text") }
        let documents = try parseDocuments(text, file: path)
        guard documents.count == 1, let document = documents.first else {
            throw InputError(file: path, line: nil, "expected exactly one ModelEndpoint document, found \(documents.count)")
        }
        let endpoint = try parse(document)
        var caPEM: [UInt8]?
        if let caFile = endpoint.caFile {
            let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
            let caPath = caFile.hasPrefix("/") ? caFile : folder.appendingPathComponent(caFile).path
            guard let bytes = FileManager.default.contents(atPath: caPath) else {
                throw InputError(file: path, line: nil, "spec.caFile: \(caPath) does not exist or is not readable")
            }
            do {
                _ = try parseCertificateBundle(Array(bytes))
            } catch {
                throw InputError(file: path, line: nil, "spec.caFile: \(caPath): \(error)")
            }
            caPEM = Array(bytes)
        }
        return (endpoint, caPEM)
    }

    /// Parses and validates one document.
    public static func parse(_ document: YAMLNode) throws -> ModelEndpoint {
        let top = try document.mapping(allowed: ["apiVersion", "kind", "metadata", "spec"])
        let version = try top.string("apiVersion")
        guard version == apiVersion else { throw top["apiVersion"]!.error("must be \(apiVersion), not \(version)") }
        let kind = try top.string("kind")
        guard kind == Self.kind else { throw top["kind"]!.error("must be \(Self.kind), not \(kind)") }
        guard let metadataNode = top["metadata"] else { throw document.error("missing required key \"metadata\"") }
        let metadata = try metadataNode.mapping(allowed: ["name", "labels", "annotations"])
        let name = try metadata.string("name")
        guard isDNSLabel(name) else {
            throw metadata["name"]!.error("must be a lowercase DNS label (a-z, 0-9, -), as it names files in the bundle")
        }
        guard let specNode = top["spec"] else { throw document.error("missing required key \"spec\"") }
        let spec = try specNode.mapping(allowed: [
            "provider", "baseURL", "model", "deployment", "apiVersion", "auth", "headers", "proxy", "caFile",
            "timeoutSeconds", "allowHTTP", "allowCustomHost",
        ])
        let providerText = try spec.string("provider")
        guard let provider = Provider(rawValue: providerText) else {
            throw spec["provider"]!.error(
                "unknown provider \"\(providerText)\" (known: \(Provider.allCases.map(\.rawValue).joined(separator: ", ")))"
            )
        }
        var endpoint = ModelEndpoint(
            name: name,
            provider: provider,
            baseURL: try spec.string("baseURL"),
            model: try spec.optionalString("model"),
            deployment: try spec.optionalString("deployment"),
            apiVersion: try spec.optionalString("apiVersion"),
            auth: try parseAuth(spec["auth"], owner: specNode),
            headers: try spec.list("headers").map(parseHeader),
            proxy: try spec["proxy"].map(parseProxy),
            caFile: try spec.optionalString("caFile"),
            timeoutSeconds: try spec["timeoutSeconds"]?.int(),
            allowHTTP: try spec["allowHTTP"]?.bool() ?? false,
            allowCustomHost: try spec["allowCustomHost"]?.bool() ?? false
        )
        try endpoint.validate(spec: spec)
        endpoint.headers.sort { $0.name.lowercased() < $1.name.lowercased() }
        return endpoint
    }

    private static func parseAuth(_ node: YAMLNode?, owner: YAMLNode) throws -> Auth {
        guard let node else { throw owner.error("missing required key \"auth\" (use type: none for an endpoint without auth)") }
        let auth = try node.mapping(allowed: ["type", "header", "valueFrom", "value"])
        if let literal = auth["value"] {
            throw literal.error(
                """
                literal credentials are refused; reference the secret with valueFrom: {env: NAME}, {file: PATH} or {secret: {name: \
                ..., key: ...}}
                """
            )
        }
        let typeText = try auth.string("type")
        guard let type = Auth.Kind(rawValue: typeText) else {
            throw auth["type"]!.error("unknown auth type \"\(typeText)\" (known: bearer, api-key, none)")
        }
        let source = try auth["valueFrom"].map(parseValueSource)
        if type == .none, source != nil { throw node.error("type none takes no valueFrom") }
        if type != .none, source == nil {
            throw node.error("type \(type.rawValue) needs valueFrom: {env: NAME}, {file: PATH} or {secret: {...}}")
        }
        return Auth(type: type, header: try auth.optionalString("header"), valueFrom: source)
    }

    private static func parseHeader(_ node: YAMLNode) throws -> Header {
        let header = try node.mapping(allowed: ["name", "value", "valueFrom"])
        let name = try header.string("name")
        guard isHeaderName(name) else { throw header["name"]!.error("\"\(name)\" is not a valid HTTP header name") }
        let value = try header["value"]?.scalar()
        let source = try header["valueFrom"].map(parseValueSource)
        guard (value == nil) != (source == nil) else { throw node.error("give exactly one of value or valueFrom") }
        if value != nil, looksLikeCredentialHeader(name) {
            throw header["value"]!.error("header \(name) carries a credential: a literal value is refused, use valueFrom")
        }
        return Header(name: name, value: value, valueFrom: source)
    }

    private static func parseValueSource(_ node: YAMLNode) throws -> ValueSource {
        let source = try node.mapping(allowed: ["env", "file", "secret"])
        guard source.keys.count == 1 else { throw node.error("give exactly one of env, file or secret") }
        if let env = try source.optionalString("env") {
            guard env.range(of: "^[A-Za-z_][A-Za-z0-9_]*$", options: .regularExpression) != nil else {
                throw source["env"]!.error("\"\(env)\" is not an environment variable name")
            }
            return .env(env)
        }
        if let file = try source.optionalString("file") { return .file(file) }
        let secret = try source["secret"]!.mapping(allowed: ["name", "key"])
        return .secret(name: try secret.string("name"), key: try secret.string("key"))
    }

    /// A `proxy:` mapping (`httpsProxy`, `httpProxy`, `noProxy`), refusing credentials in its URLs.
    public static func parseProxy(_ node: YAMLNode) throws -> Proxy {
        let proxy = try node.mapping(allowed: ["httpsProxy", "httpProxy", "noProxy"])
        for key in ["httpsProxy", "httpProxy"] {
            guard let value = try proxy.optionalString(key) else { continue }
            guard let url = URLComponents(string: value), let scheme = url.scheme, ["http", "https"].contains(scheme),
                let host = url.host, !host.isEmpty
            else {
                throw proxy[key]!.error("\"\(value)\" is not a proxy URL such as http://proxy.corp.internal:3128")
            }
            if url.user != nil || url.password != nil {
                throw proxy[key]!.error("credentials in a proxy URL are refused; airlock never carries secrets")
            }
        }
        return Proxy(
            httpsProxy: try proxy.optionalString("httpsProxy"),
            httpProxy: try proxy.optionalString("httpProxy"),
            noProxy: try proxy.list("noProxy").map { try $0.scalar() }
        )
    }
}

/// Header names that carry credentials: a literal value for one of these is refused.
func looksLikeCredentialHeader(_ name: String) -> Bool {
    let lowered = name.lowercased()
    return ["key", "token", "authorization", "secret", "password", "passwd", "credential", "cookie", "signature", "auth"]
        .contains { lowered.contains($0) }
}

func isDNSLabel(_ text: String) -> Bool {
    text.count <= 63 && text.range(of: "^[a-z0-9]([a-z0-9-]*[a-z0-9])?$", options: .regularExpression) != nil
}

func isHeaderName(_ text: String) -> Bool {
    text.range(of: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$", options: .regularExpression) != nil
}
