@testable import Endpoints
import Foundation
import StrictYAML
import Testing

struct ProxyChoiceTests {
    @Test(arguments: [
        ("llm.corp.internal", [".corp.internal"], true),
        ("corp.internal", [".corp.internal"], true),
        ("llm.corp.internal", ["corp.internal"], true),
        ("notcorp.internal", ["corp.internal"], false),
        ("api.example.com", ["*"], true),
        ("api.example.com", ["other.com", ""], false),
        ("LLM.Corp.Internal", ["llm.corp.internal"], true),
    ])
    func noProxyExcludesHostsAndTheirSubdomains(host: String, entries: [String], excluded: Bool) {
        #expect(ProxyChoice.excluded(host, by: entries) == excluded)
    }

    @Test func theEndpointsOwnProxyWinsOverTheEnvironment() throws {
        let text = "apiVersion: airlock/v1\nkind: ModelEndpoint\nmetadata: {name: m}\nspec:\n  provider: openai-compatible\n  baseURL: https://llm.example.com/v1\n  model: m\n  auth: {type: none}\n"
        var endpoint = try ModelEndpoint.parse(try #require(try parseDocuments(text, file: "m.yaml").first))
        endpoint.proxy = .init(httpsProxy: "http://proxy.corp:8080", httpProxy: nil, noProxy: [])
        let choice = ProxyChoice(endpoint: endpoint, environment: ["HTTPS_PROXY": "http://env-proxy:3128"], host: "llm.example.com", secure: true)
        #expect(choice?.host == "proxy.corp" && choice?.port == 8080 && choice?.origin == "proxy.httpsProxy")
        endpoint.proxy = nil
        let fromEnvironment = ProxyChoice(endpoint: endpoint, environment: ["https_proxy": "env-proxy:3128", "NO_PROXY": "example.org"],
                                          host: "llm.example.com", secure: true)
        #expect(fromEnvironment?.host == "env-proxy" && fromEnvironment?.origin == "HTTPS_PROXY")
        #expect(ProxyChoice(endpoint: endpoint, environment: ["HTTPS_PROXY": "http://p:1", "NO_PROXY": ".example.com"], host: "llm.example.com", secure: true) == nil)
    }
}
