import Endpoints
import Foundation
import HelmTemplate
import OCI
import Testing

@testable import AirlockCore

/// The site file and the facts an install-values template reads, on the worked examples of
/// manifests/examples (the same files the README shows).
struct SiteTests {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("manifests/examples").path

    static func facts() throws -> SiteFacts {
        let site = try Site.load(path: "\(examples)/site.yaml")
        let endpoint = try ModelEndpoint.load(path: "\(examples)/openai-gateway.yaml").endpoint
        let digest = "sha256:" + String(repeating: "a", count: 64)
        let targets = try [
            PushReport.Mapping(
                source: "registry.example.com/team/app:1.4.2",
                target: "registry.plant7.internal:5000/vendor/team/app:1.4.2",
                digest: digest,
                kind: .image
            ),
            PushReport.Mapping(
                source: "charts/platform:1.4.2",
                target: "registry.plant7.internal:5000/vendor/charts/platform:1.4.2",
                digest: digest,
                kind: .chart
            ),
        ].map(SiteFacts.Target.init(mapping:))
        let predicate = BundlePredicate(
            formatVersion: 1,
            name: "platform",
            version: "1.4.2",
            created: "2026-11-01T00:00:00Z",
            tool: .init(name: "airlock", version: "0"),
            images: [],
            charts: [],
            endpoints: [],
            files: []
        )
        return try SiteFacts(
            site: site,
            host: "registry.plant7.internal:5000",
            prefix: "vendor",
            targets: targets,
            endpoints: [endpoint.renamed("triage-llm")],
            caFiles: site.caFiles,
            bundle: predicate
        )
    }

    @Test func theExampleSiteFileReads() throws {
        let site = try Site.load(path: "\(Self.examples)/site.yaml")
        #expect(site.registry == "registry.plant7.internal:5000/vendor")
        #expect(site.namespace == "triage" && site.caConfigMap == "corp-ca")
        #expect(site.proxy?.noProxy == [".plant7.internal", "10.0.0.0/8"])
        #expect(site.caFiles.map(\.name) == ["corp-proxy-ca.pem"])
        #expect(site.secrets["triage-llm"]?.auth == Site.SecretKey(name: "llm-gateway", key: "token"))
        #expect(site.secrets["triage-llm"]?.headers["x-gateway-key"] == Site.SecretKey(name: "llm-gateway", key: "gateway-key"))
    }

    @Test func theExampleTemplateRendersWithTheSitesFacts() throws {
        let facts = try Self.facts()
        let template = try String(contentsOfFile: "\(Self.examples)/platform.values.tmpl.yaml", encoding: .utf8)
        let chart = BundlePredicate.Chart(
            name: "platform",
            version: "1.4.2",
            source: "",
            digest: Digest.sha256(of: []),
            chartDigest: Digest.sha256(of: []),
            ref: "charts/platform:1.4.2"
        )
        let text = try HelmRenderer.render(templateNamed: "example", source: template, data: facts.data(for: chart))
        let values = try #require(try GoYAMLDecoder.decode(text).mapValue)
        #expect(values["image"]?.mapValue?["repository"]?.stringValue == "registry.plant7.internal:5000/vendor/team/app")
        #expect(values["image"]?.mapValue?["digest"]?.stringValue == "sha256:" + String(repeating: "a", count: 64))
        #expect(values["global"]?.mapValue?["imageRegistry"]?.stringValue == "registry.plant7.internal:5000/vendor")
        #expect(values["proxy"]?.mapValue?["noProxy"]?.stringValue == ".plant7.internal,10.0.0.0/8")
        #expect(values["trustedCA"]?.mapValue?["configMap"]?.stringValue == "corp-ca")
        let secret = values["llm"]?.mapValue?["apiKeySecret"]?.mapValue
        #expect(secret?["name"]?.stringValue == "llm-gateway" && secret?["key"]?.stringValue == "token")
    }

    @Test func aCredentialNoSecretHoldsIsNamedWithWhatToAdd() throws {
        var site = try Site.load(path: "\(Self.examples)/site.yaml")
        site.secrets["triage-llm"]?.headers = [:]
        let endpoint = try ModelEndpoint.load(path: "\(Self.examples)/openai-gateway.yaml").endpoint.renamed("triage-llm")
        #expect(throws: InstallError.self) { try SiteFacts.secrets(of: endpoint, site: site) }
        do {
            _ = try SiteFacts.secrets(of: endpoint, site: site)
        } catch {
            #expect("\(error)".contains("reads a credential from file /var/run/secrets/gateway/key"))
            #expect("\(error)".contains("headers: {X-Gateway-Key: {name: SECRET, key: KEY}}"))
        }
    }

    @Test(arguments: [
        ("host:5000/mirror/team/app:1.4.2", "host:5000", "mirror/team/app", "1.4.2" as String?),
        ("host/x/y@sha256:" + String(repeating: "b", count: 64), "host", "x/y", nil),
    ])
    func targetsReadAsPushWritesThem(target: String, registry: String, repository: String, tag: String?) throws {
        let parsed = try SiteFacts.Target(
            mapping: .init(source: "s", target: target, digest: "sha256:" + String(repeating: "b", count: 64), kind: .image)
        )
        #expect(parsed.registry == registry && parsed.repository == repository && parsed.tag == tag)
    }
}

extension ModelEndpoint {
    fileprivate func renamed(_ name: String) -> ModelEndpoint {
        var copy = self
        copy.name = name
        return copy
    }
}
