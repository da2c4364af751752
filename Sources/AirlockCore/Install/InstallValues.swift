import Endpoints
import Foundation
import HelmTemplate
import OCI
import Registry
import Signing

/// `airlock values`: the values each chart of a pushed bundle installs with at this site, from the
/// vendor's install-values template (or a generic overlay) filled with the site file's facts; the
/// CA bundle as a ConfigMap; the secrets the endpoints expect (names and keys, never values); and
/// with `check`, proof that every image the charts then render is in the private registry.
public enum InstallValues {
    public struct Options: Sendable {
        public var source: String
        public var site: Site
        public var outputDirectory: String
        public var policy: SignaturePolicy
        public var check: Bool
        public var transport: TransportOptions

        public init(source: String, site: Site, outputDirectory: String, policy: SignaturePolicy, check: Bool, transport: TransportOptions)
        {
            self.source = source
            self.site = site
            self.outputDirectory = outputDirectory
            self.policy = policy
            self.check = check
            self.transport = transport
        }
    }

    public struct Report: Sendable, Codable {
        public struct ChartValues: Sendable, Codable {
            public var name: String
            public var version: String
            public var file: String
            /// `template` (the vendor's installValues) or `generic` (airlock's overlay).
            public var from: String
        }

        public struct Secret: Sendable, Codable {
            public var endpoint: String
            /// `auth`, or `header NAME`.
            public var use: String
            public var secret: String
            public var key: String
        }

        /// One image a chart renders with its generated values, looked up in the private registry.
        public struct CheckedImage: Sendable, Codable {
            public var chart: String
            public var image: String
            public var ok: Bool
            public var detail: String
        }

        public var ok: Bool
        public var directory: String
        public var registry: String
        public var charts: [ChartValues]
        public var files: [String]
        public var secrets: [Secret]
        public var warnings: [String]
        /// Set with `--check`.
        public var check: [CheckedImage]?
    }

    public static func run(_ options: Options) async throws -> Report {
        let source = try openPushSource(options.source, policy: options.policy)
        let predicate = source.statement.predicate
        let site = options.site
        let (host, prefix, targets) = try await registryTargets(source: source, site: site)
        let endpoints = try await readEndpoints(source)
        var warnings: [String] = []
        for name in site.secrets.keys.sorted() where !endpoints.contains(where: { $0.endpoint.name == name }) {
            warnings.append("\(site.file): secrets names endpoint \(name), which this bundle does not carry")
        }
        let facts = try SiteFacts(
            site: site,
            host: host,
            prefix: prefix,
            targets: targets,
            endpoints: endpoints.map(\.endpoint),
            caFiles: site.caFiles + endpoints.compactMap { loaded in loaded.caPEM.map { ("\(loaded.endpoint.name).ca.pem", $0) } },
            bundle: predicate
        )
        let needed = facts.secrets

        var files: [(name: String, text: String)] = []
        var charts: [Report.ChartValues] = []
        var rendered: [(chart: BundlePredicate.Chart, values: MapBox)] = []
        for chart in predicate.charts {
            let file = "\(chart.name).values.yaml"
            let text: String
            if let entry = chart.installValues {
                let template = String(decoding: try await source.bytes(of: entry), as: UTF8.self)
                do {
                    text = try HelmRenderer.render(templateNamed: entry, source: template, data: facts.data(for: chart))
                } catch let error as TemplateError {
                    throw InstallError.template(chart: chart.name, detail: "\(error)")
                }
            } else {
                text = genericOverlay(chart, facts: facts)
                warnings.append(
                    """
                    chart \(chart.name) \(chart.version) has no installValues template from its vendor: \(file) is airlock's generic \
                    overlay (global.imageRegistry); check it against the chart's values
                    """
                )
            }
            rendered.append((chart, try valuesMap(text, chart: chart.name)))
            files.append((file, text))
            charts.append(
                .init(name: chart.name, version: chart.version, file: file, from: chart.installValues == nil ? "generic" : "template")
            )
        }
        if !facts.caFiles.isEmpty { files.append(("ca-configmap.yaml", caConfigMap(facts))) }
        files.append(("secrets-needed.txt", secretsNeeded(needed, namespace: site.namespace)))

        try FileManager.default.createDirectory(atPath: options.outputDirectory, withIntermediateDirectories: true)
        for file in files { try writeAtomically(Array(file.text.utf8), to: "\(options.outputDirectory)/\(file.name)") }

        var report = Report(
            ok: true,
            directory: options.outputDirectory,
            registry: prefix.isEmpty ? host : "\(host)/\(prefix)",
            charts: charts,
            files: files.map(\.name),
            secrets: needed.map { .init(endpoint: $0.endpoint, use: $0.use.description, secret: $0.secret.name, key: $0.secret.key) },
            warnings: warnings,
            check: nil
        )
        if options.check {
            let checked = try await InstallCheck(source: source, host: host, targets: targets, namespace: site.namespace)
                .run(rendered, transport: options.transport)
            report.check = checked
            report.ok = checked.allSatisfy(\.ok)
        }
        return report
    }

    /// Where each image and chart lands: push's mapping.json when the site gives it (push rules
    /// included), else the places `push --registry` gives them by default.
    static func registryTargets(source: any PushSource, site: Site) async throws -> (String, String, [SiteFacts.Target]) {
        var mappings: [PushReport.Mapping]
        if let path = site.mapping {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw InstallError.unreadableMapping(path: path, detail: "cannot read it")
            }
            do { mappings = try JSONDecoder().decode([PushReport.Mapping].self, from: data) } catch {
                throw InstallError.unreadableMapping(path: path, detail: "\(error)")
            }
        } else {
            let target = try PushTarget(site.registry ?? "")
            mappings = try await ImagePlan.make(from: source, target: target, rules: PushRules()).map { $0.mapping(host: target.host) }
        }
        let targets = try mappings.filter { $0.kind == .image || $0.kind == .chart }.map(SiteFacts.Target.init(mapping:))
        if let registry = site.registry {
            let target = try PushTarget(registry)
            return (target.host, target.prefix, targets)
        }
        // From the mapping alone: the host of its targets, and the prefix push put before an
        // image's own repository path.
        let host = targets.first?.registry ?? ""
        var prefix = ""
        for target in targets where target.kind == .image {
            guard let reference = try? ImageReference(target.source), target.repository.hasSuffix(reference.repository) else { continue }
            prefix = String(target.repository.dropLast(reference.repository.count)).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            break
        }
        return (host, prefix, targets)
    }

    /// The bundle's endpoints (their signed bytes, read into a temporary folder to be parsed).
    static func readEndpoints(_ source: any PushSource) async throws -> [(endpoint: ModelEndpoint, caPEM: [UInt8]?)] {
        let entries = source.statement.predicate.endpoints
        guard !entries.isEmpty else { return [] }
        let folder = NSTemporaryDirectory() + "airlock-values-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: "\(folder)/endpoints", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var loaded: [(ModelEndpoint, [UInt8]?)] = []
        for endpoint in entries {
            for entry in [endpoint.path] + (endpoint.caFile.map { [$0] } ?? []) {
                try writeAtomically(try await source.bytes(of: entry), to: "\(folder)/\(try EntryPath(entry).value)")
            }
            loaded.append(try ModelEndpoint.load(path: "\(folder)/\(endpoint.path)"))
        }
        return loaded
    }

    static func valuesMap(_ text: String, chart: String) throws -> MapBox {
        let decoded: TemplateValue
        do { decoded = try GoYAMLDecoder.decode(text) } catch { throw InstallError.notAMapping(chart: chart, detail: "\(error)") }
        switch decoded {
        case .map(let box): return box
        case .null: return MapBox()
        default: throw InstallError.notAMapping(chart: chart, detail: "it is a \(decoded.kindName)")
        }
    }

    /// For a chart without a template: the registry under `global.imageRegistry`, which Bitnami's
    /// common library and many other charts prefix to every image's repository.
    static func genericOverlay(_ chart: BundlePredicate.Chart, facts: SiteFacts) -> String {
        let address = facts.prefix.isEmpty ? facts.host : "\(facts.host)/\(facts.prefix)"
        let values = TemplateValue.dictionary(["global": .dictionary(["imageRegistry": .string(address)])])
        return """
            # Written by airlock values: chart \(chart.name) \(chart.version) carries no installValues template, so this is the
            # generic overlay (global.imageRegistry, the convention of Bitnami's common library and many other charts).
            # Check it against the chart's values; airlock values --check renders the chart with it.

            """ + GoYAML.marshal(values)
    }

    static func caConfigMap(_ facts: SiteFacts) -> String {
        let body = TemplateValue.dictionary([
            "apiVersion": .string("v1"), "kind": .string("ConfigMap"),
            "metadata": .dictionary(["name": .string(facts.site.caConfigMap), "namespace": .string(facts.site.namespace)]),
            "data": .dictionary([SiteFacts.caKey: .string(facts.caBundle)]),
        ])
        let names = facts.caFiles.map(\.name).joined(separator: ", ")
        return "# Written by airlock values: the CA bundle the platform's pods trust (\(names)).\n" + GoYAML.marshal(body)
    }

    static func secretsNeeded(_ needed: [SiteFacts.NeededSecret], namespace: String) -> String {
        guard !needed.isEmpty else { return "# No endpoint of this bundle reads a credential.\n" }
        var text = """
            # Written by airlock values: the Kubernetes secrets (namespace \(namespace)) the platform's endpoints read.
            # Only names and keys: create each secret from the credential where it is kept, for example
            #   kubectl -n \(namespace) create secret generic NAME --from-file=KEY=/path/to/credential

            """
        for secret in needed {
            let what = "endpoint \(secret.endpoint), \(secret.use) (outside Kubernetes: \(secret.readsFrom))"
            text += "\(secret.secret.name)\t\(secret.secret.key)\t\(what)\n"
        }
        return text
    }
}
