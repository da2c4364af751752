import Endpoints
import Foundation
import HelmTemplate
import OCI

/// The facts an install-values template reads, from the bundle and the site file: `.Registry`,
/// `.Proxy`, `.CA`, `.Endpoints`, `.Namespace`, `.Bundle` and `.Chart`. Field names are
/// capitalised as Helm's own objects are (`.Release.Name`); README "Install values" lists them.
struct SiteFacts {
    /// Where one image or chart of the bundle lands in the private registry.
    struct Target {
        var source: String
        var kind: LayoutKind
        var registry: String
        var repository: String
        var tag: String?
        var digest: String

        var name: String { "\(registry)/\(repository)" }
        var pinned: String { "\(name)@\(digest)" }

        init(mapping: PushReport.Mapping) throws {
            source = mapping.source
            kind = mapping.kind
            digest = mapping.digest
            var target = mapping.target
            if let at = target.firstIndex(of: "@") { target = String(target[..<at]) }
            let slash = target.firstIndex(of: "/") ?? target.endIndex
            registry = String(target[..<slash])
            var path = slash < target.endIndex ? String(target[target.index(after: slash)...]) : ""
            if let colon = path.lastIndex(of: ":"), !path[colon...].contains("/") {
                tag = String(path[path.index(after: colon)...])
                path = String(path[..<colon])
            }
            guard !registry.isEmpty, !path.isEmpty else { throw InstallError.badMapping(entry: mapping.target) }
            repository = path
        }
    }

    let site: Site
    let host: String
    let prefix: String
    let targets: [Target]
    let endpoints: [ModelEndpoint]
    /// The CA files the pods trust: the site's, then the endpoints' carried ones.
    let caFiles: [(name: String, pem: [UInt8])]
    let bundle: BundlePredicate
    /// Every credential the endpoints read, with the site's secret that holds it.
    let secrets: [NeededSecret]

    /// Resolves the endpoints' secrets against the site (an error names a credential no secret holds).
    init(
        site: Site,
        host: String,
        prefix: String,
        targets: [Target],
        endpoints: [ModelEndpoint],
        caFiles: [(name: String, pem: [UInt8])],
        bundle: BundlePredicate
    ) throws {
        self.site = site
        self.host = host
        self.prefix = prefix
        self.targets = targets
        self.endpoints = endpoints
        self.caFiles = caFiles
        self.bundle = bundle
        secrets = try endpoints.flatMap { try Self.secrets(of: $0, site: site) }
    }

    static let caKey = "ca-bundle.crt"

    var caBundle: String { caFiles.map { String(decoding: $0.pem, as: UTF8.self) }.joined(separator: "\n") }

    /// The whole data of one chart's template.
    func data(for chart: BundlePredicate.Chart) -> TemplateValue {
        .dictionary([
            "Registry": registryFacts(),
            "Proxy": proxyFacts(),
            "CA": caFacts(),
            "Endpoints": .dictionary(Dictionary(uniqueKeysWithValues: endpoints.map { ($0.name, endpointFacts($0)) })),
            "Namespace": .string(site.namespace),
            "Bundle": .dictionary(["Name": .string(bundle.name), "Version": .string(bundle.version)]),
            "Chart": .dictionary(["Name": .string(chart.name), "Version": .string(chart.version)]),
        ])
    }

    private func registryFacts() -> TemplateValue {
        func fact(_ target: Target) -> TemplateValue {
            .dictionary([
                "Source": .string(target.source), "Registry": .string(target.registry), "Repository": .string(target.repository),
                "Name": .string(target.name), "Tag": .string(target.tag ?? ""), "Digest": .string(target.digest),
                "Ref": .string(target.pinned), "Tagged": .string(target.tag.map { "\(target.name):\($0)" } ?? target.pinned),
            ])
        }
        var images: [String: TemplateValue] = [:]
        var charts: [String: TemplateValue] = [:]
        for target in targets {
            switch target.kind {
            case .image: images[target.source] = fact(target)
            case .chart:
                guard case .map(let box) = fact(target) else { continue }
                let name = target.source.split(separator: ":").first.map { String($0.split(separator: "/").last ?? $0) } ?? target.source
                box["OCI"] = .string("oci://\(target.name)")
                box["Version"] = .string(target.tag ?? "")
                charts[name] = .map(box)
            case .referrer, .chartReferrer: continue
            }
        }
        return .dictionary([
            "Host": .string(host), "Prefix": .string(prefix), "Address": .string(prefix.isEmpty ? host : "\(host)/\(prefix)"),
            "Images": .dictionary(images), "Charts": .dictionary(charts),
        ])
    }

    private func proxyFacts() -> TemplateValue {
        let proxy = site.proxy
        return .dictionary([
            "Enabled": .bool(proxy != nil),
            "HTTPProxy": .string(proxy?.httpProxy ?? ""),
            "HTTPSProxy": .string(proxy?.httpsProxy ?? ""),
            "NoProxy": .string((proxy?.noProxy ?? []).joined(separator: ",")),
            "NoProxyList": .list((proxy?.noProxy ?? []).map { .string($0) }),
        ])
    }

    private func caFacts() -> TemplateValue {
        .dictionary([
            "Enabled": .bool(!caFiles.isEmpty),
            "ConfigMap": .string(site.caConfigMap),
            "Key": .string(Self.caKey),
            "PEM": .string(caBundle),
            "Files": .list(
                caFiles.map { .dictionary(["Name": .string($0.name), "PEM": .string(String(decoding: $0.pem, as: UTF8.self))]) }
            ),
        ])
    }

    private func endpointFacts(_ endpoint: ModelEndpoint) -> TemplateValue {
        let secrets = secrets.filter { $0.endpoint == endpoint.name }
        func secretFact(_ key: Site.SecretKey?) -> TemplateValue {
            key.map { .dictionary(["Name": .string($0.name), "Key": .string($0.key)]) } ?? .null
        }
        let headers: [TemplateValue] = endpoint.headers.map { header in
            .dictionary([
                "Name": .string(header.name),
                "Value": .string(header.value ?? ""),
                "Secret": secretFact(secrets.first { $0.use == .header(header.name) }?.secret),
            ])
        }
        return .dictionary([
            "Name": .string(endpoint.name), "Provider": .string(endpoint.provider.rawValue), "BaseURL": .string(endpoint.baseURL),
            "Model": .string(endpoint.model ?? ""), "Deployment": .string(endpoint.deployment ?? ""),
            "APIVersion": .string(endpoint.apiVersion ?? ""),
            "Auth": .dictionary([
                "Type": .string(endpoint.auth.type.rawValue), "Header": .string(endpoint.credentialHeader ?? ""),
                "Secret": secretFact(secrets.first { $0.use == .auth }?.secret),
            ]),
            "Headers": .list(headers),
            "Proxy": .dictionary([
                "HTTPProxy": .string(endpoint.proxy?.httpProxy ?? ""), "HTTPSProxy": .string(endpoint.proxy?.httpsProxy ?? ""),
                "NoProxy": .string((endpoint.proxy?.noProxy ?? []).joined(separator: ",")),
            ]),
            "TimeoutSeconds": .integer(endpoint.timeoutSeconds ?? 10),
        ])
    }

    /// One credential an endpoint reads, and the site's secret that holds it.
    struct NeededSecret: Equatable {
        enum Use: Equatable, CustomStringConvertible {
            case auth
            case header(String)

            /// `auth`, or `header NAME`.
            var description: String {
                switch self {
                case .auth: "auth"
                case .header(let name): "header \(name)"
                }
            }
        }

        var endpoint: String
        var use: Use
        var secret: Site.SecretKey
        /// Where the endpoint reads it outside Kubernetes (`env LLM_TOKEN`), for the list.
        var readsFrom: String
    }

    /// Every credential of `endpoint` with its secret: the site's entry, else the endpoint's own
    /// `valueFrom: {secret: ...}`; a credential with neither is an error naming what to add.
    static func secrets(of endpoint: ModelEndpoint, site: Site) throws -> [NeededSecret] {
        var needed: [NeededSecret] = []
        let given = site.secrets[endpoint.name]
        func resolve(_ source: ModelEndpoint.ValueSource, use: NeededSecret.Use, siteKey: Site.SecretKey?) throws {
            let readsFrom: String
            var secret = siteKey
            switch source {
            case .env(let name): readsFrom = "env \(name)"
            case .file(let path): readsFrom = "file \(path)"
            case .secret(let name, let key):
                readsFrom = "secret \(name)/\(key)"
                secret = secret ?? Site.SecretKey(name: name, key: key)
            }
            guard let secret else {
                let what: String
                switch use {
                case .auth: what = "auth: {name: SECRET, key: KEY}"
                case .header(let header): what = "headers: {\(header): {name: SECRET, key: KEY}}"
                }
                throw InstallError.secretNotNamed(site: site.file, endpoint: endpoint.name, readsFrom: readsFrom, add: what)
            }
            needed.append(NeededSecret(endpoint: endpoint.name, use: use, secret: secret, readsFrom: readsFrom))
        }
        if let source = endpoint.auth.valueFrom { try resolve(source, use: .auth, siteKey: given?.auth) }
        for header in endpoint.headers {
            guard let source = header.valueFrom else { continue }
            try resolve(source, use: .header(header.name), siteKey: given?.headers[header.name.lowercased()])
        }
        return needed
    }
}
