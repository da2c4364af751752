import Foundation
import StrictYAML

extension ModelEndpoint {
    /// Host suffixes of Azure's AI services.
    static let azureHostSuffixes = [".openai.azure.com", ".services.ai.azure.com", ".cognitiveservices.azure.com", ".azure-api.net"]

    /// Checks the URL shape and the fields each provider needs.
    func validate(spec: YAMLMapping) throws {
        let urlNode = spec["baseURL"]!
        guard let url = URLComponents(string: baseURL), let scheme = url.scheme, let host = url.host, !host.isEmpty else {
            throw urlNode.error("\"\(baseURL)\" is not an absolute URL")
        }
        if url.user != nil || url.password != nil {
            throw urlNode.error("credentials in the URL are refused; use auth.valueFrom")
        }
        if url.query != nil {
            throw urlNode.error("give the base URL without a query (apiVersion has its own field)")
        }
        switch scheme {
        case "https": break
        case "http" where allowHTTP: break
        case "http": throw urlNode.error("must use https (set allowHTTP: true only for a gateway that has no TLS)")
        default: throw urlNode.error("scheme \(scheme) is not http(s)")
        }
        let isAzure = provider == .azureAIFoundry || provider == .azureAnthropic
        if isAzure && !allowCustomHost && !Self.azureHostSuffixes.contains(where: { host.lowercased().hasSuffix($0) }) {
            throw urlNode.error(
                """
                \(provider.rawValue) expects an Azure resource host (\(Self.azureHostSuffixes.joined(separator: ", "))); set \
                allowCustomHost: true for a private gateway
                """
            )
        }
        switch provider {
        case .azureAIFoundry:
            guard deployment != nil || model != nil else { throw spec.owner.error("azure-ai-foundry needs deployment (or model)") }
            guard apiVersion != nil else { throw spec.owner.error("azure-ai-foundry needs apiVersion, e.g. \"2024-10-21\"") }
        case .azureAnthropic, .anthropic, .openAICompatible:
            guard model != nil || deployment != nil else { throw spec.owner.error("\(provider.rawValue) needs model") }
        }
        if let timeoutSeconds, !(1...3600).contains(timeoutSeconds) {
            throw spec["timeoutSeconds"]!.error("must be between 1 and 3600")
        }
    }

    /// A deterministic YAML rendering of the validated endpoint, as stored in a bundle; `caFile` is
    /// replaced by the name the CA gets in the bundle.
    public func canonicalYAML(caFileName: String?) -> String {
        var lines = ["apiVersion: \(Self.apiVersion)", "kind: \(Self.kind)", "metadata:", "  name: \(quote(name))", "spec:"]
        lines.append("  provider: \(provider.rawValue)")
        lines.append("  baseURL: \(quote(baseURL))")
        if let model { lines.append("  model: \(quote(model))") }
        if let deployment { lines.append("  deployment: \(quote(deployment))") }
        if let apiVersion { lines.append("  apiVersion: \(quote(apiVersion))") }
        lines.append("  auth:")
        lines.append("    type: \(auth.type.rawValue)")
        if let header = auth.header { lines.append("    header: \(quote(header))") }
        if let source = auth.valueFrom { lines.append("    valueFrom: \(render(source))") }
        if !headers.isEmpty {
            lines.append("  headers:")
            for header in headers {
                lines.append("    - name: \(quote(header.name))")
                if let value = header.value { lines.append("      value: \(quote(value))") }
                if let source = header.valueFrom { lines.append("      valueFrom: \(render(source))") }
            }
        }
        if let proxy {
            lines.append("  proxy:")
            if let https = proxy.httpsProxy { lines.append("    httpsProxy: \(quote(https))") }
            if let http = proxy.httpProxy { lines.append("    httpProxy: \(quote(http))") }
            if !proxy.noProxy.isEmpty { lines.append("    noProxy: [\(proxy.noProxy.map(quote).joined(separator: ", "))]") }
        }
        if let caFileName { lines.append("  caFile: \(quote(caFileName))") }
        if let timeoutSeconds { lines.append("  timeoutSeconds: \(timeoutSeconds)") }
        if allowHTTP { lines.append("  allowHTTP: true") }
        if allowCustomHost { lines.append("  allowCustomHost: true") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The host of the base URL, for listings.
    public var host: String { URLComponents(string: baseURL)?.host ?? baseURL }

    /// The header that carries the credential: `Authorization` for bearer, the configured or the
    /// provider's API-key header for api-key, nil without auth.
    public var credentialHeader: String? {
        switch auth.type {
        case .bearer: "Authorization"
        case .apiKey: auth.header ?? ProviderRequest.defaultKeyHeader(provider)
        case .none: nil
        }
    }
}

private func render(_ source: ModelEndpoint.ValueSource) -> String {
    switch source {
    case .env(let name): return "{env: \(quote(name))}"
    case .file(let path): return "{file: \(quote(path))}"
    case .secret(let name, let key): return "{secret: {name: \(quote(name)), key: \(quote(key))}}"
    }
}

/// A double-quoted YAML scalar (JSON string syntax is valid YAML).
private func quote(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
        }
    }
    return out + "\""
}
