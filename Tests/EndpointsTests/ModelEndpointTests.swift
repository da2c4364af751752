import Endpoints
import Foundation
import StrictYAML
import Testing

struct ModelEndpointTests {
    private func parse(_ spec: String) throws -> ModelEndpoint {
        let text = "apiVersion: airlock/v1\nkind: ModelEndpoint\nmetadata:\n  name: llm\nspec:\n" + spec
        return try ModelEndpoint.parse(try #require(try parseDocuments(text, file: "e.yaml").first))
    }

    @Test func aCompleteOpenAICompatibleEndpointParses() throws {
        let endpoint = try parse(
            """
              provider: openai-compatible
              baseURL: https://llm.corp.internal/v1
              model: gpt-4o
              auth: {type: bearer, valueFrom: {env: LLM_TOKEN}}
              headers:
                - {name: X-Tenant, value: secops}
                - {name: X-Gateway-Key, valueFrom: {secret: {name: gw, key: key}}}
              proxy: {httpsProxy: "http://proxy:3128", noProxy: [".corp.internal"]}
            """
        )
        #expect(endpoint.provider == .openAICompatible)
        #expect(endpoint.auth.valueFrom == .env("LLM_TOKEN"))
        #expect(endpoint.headers.map(\.name) == ["X-Gateway-Key", "X-Tenant"])
        let yaml = endpoint.canonicalYAML(caFileName: "llm.ca.pem")
        #expect(yaml.contains("caFile: \"llm.ca.pem\"") && yaml.contains("valueFrom: {secret: {name: \"gw\", key: \"key\"}}"))
        // The canonical form parses back to the same endpoint (with the CA renamed).
        var reparsed = try ModelEndpoint.parse(try #require(try parseDocuments(yaml, file: "c.yaml").first))
        reparsed.caFile = nil
        #expect(reparsed == endpoint)
    }

    @Test(arguments: [
        (
            "provider: anthropic\nbaseURL: https://a.example\nmodel: m\nauth: {type: api-key, value: sk-123}\n",
            "e.yaml:9: spec.auth.value: literal credentials are refused"
        ),
        (
            """
            provider: anthropic\nbaseURL: https://a.example\nmodel: m\nauth: {type: none}\nheaders:\n  - {name: Authorization, value: \
            Bearer x}\n
            """,
            "spec.headers[0].value: header Authorization carries a credential"
        ),
        (
            "provider: azure-ai-foundry\nbaseURL: https://x.openai.azure.com\ndeployment: d\nauth: {type: none}\n",
            "azure-ai-foundry needs apiVersion"
        ),
        (
            "provider: azure-ai-foundry\nbaseURL: https://gateway.corp\ndeployment: d\napiVersion: \"2024-10-21\"\nauth: {type: none}\n",
            "expects an Azure resource host"
        ),
        ("provider: openai-compatible\nbaseURL: http://plain\nmodel: m\nauth: {type: none}\n", "must use https"),
        (
            "provider: openai-compatible\nbaseURL: https://user:pw@host\nmodel: m\nauth: {type: none}\n",
            "credentials in the URL are refused"
        ),
        ("provider: openai-compatible\nbaseURL: https://h\nmodel: m\nauth: {type: bearer}\n", "type bearer needs valueFrom"),
        (
            """
            provider: openai-compatible\nbaseURL: https://h\nmodel: m\nauth: {type: none}\nproxy: {httpsProxy: \
            \"http://u:p@proxy:3128\"}\n
            """,
            "credentials in a proxy URL are refused"
        ),
        ("provider: openai\nbaseURL: https://h\nmodel: m\nauth: {type: none}\n", "unknown provider \"openai\""),
        ("provider: openai-compatible\nbaseURL: https://h\nauth: {type: none}\n", "openai-compatible needs model"),
        ("provider: openai-compatible\nbaseURL: https://h\nmodel: m\nauth: {type: none}\ntimeout: 5\n", "unknown key \"timeout\""),
    ])
    func badEndpointsAreRefusedNamingTheField(spec: String, expected: String) {
        let indented = spec.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n") + "\n"
        do {
            _ = try parse(indented)
            Issue.record("accepted: \(spec)")
        } catch {
            #expect("\(error)".contains(expected), "\(error)")
            #expect(!"\(error)".contains("sk-123") && !"\(error)".contains("Bearer x"), "no secret in the message")
        }
    }
}

struct ManifestExampleTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("manifests").path

    @Test(arguments: ["azure-foundry", "azure-anthropic", "openai-gateway", "anthropic"])
    func theWorkedEndpointExamplesValidate(name: String) throws {
        let (endpoint, ca) = try ModelEndpoint.load(path: "\(Self.folder)/examples/\(name).yaml")
        #expect(ca == nil)
        #expect(endpoint.auth.valueFrom != nil, "every example references its secret")
    }

    @Test func theEgressExampleReads() throws {
        let egress = try Egress.load(path: "\(Self.folder)/examples/egress.yaml")
        #expect(egress.reach.map(\.name) == ["license"] && egress.reach[0].via == .proxy)
        #expect(egress.block.map(\.target) == ["https://telemetry.vendor.example/v1/events", "registry-1.docker.io:443"])
        #expect(egress.block.map(\.port) == [443, 443])
    }

    @Test(arguments: ["bundle", "model-endpoint", "site", "egress"])
    func theSchemasAreJSON(name: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(Self.folder)/schemas/\(name).schema.json"))
        let schema = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(schema["additionalProperties"] as? Bool == false)
    }
}
