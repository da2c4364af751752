import Foundation
import Registry
import StrictYAML
import Testing

@testable import Endpoints

struct ProxyChoiceTests {
    /// One reading of NO_PROXY for preflight, pulls and pushes (curl's): the same table holds for
    /// `noProxyExcludes` and for `TransportOptions.proxy(for:)`.
    @Test(arguments: [
        ("llm.corp.internal", [".corp.internal"], true),
        ("corp.internal", [".corp.internal"], true),
        ("llm.corp.internal", ["corp.internal"], true),
        ("notcorp.internal", ["corp.internal"], false),
        ("api.example.com", ["*"], true),
        ("api.example.com", ["other.com", ""], false),
        ("LLM.Corp.Internal", ["llm.corp.internal"], true),
        ("registry.corp.internal:5000", ["corp.internal"], true),
        ("registry.corp.internal", ["registry.corp.internal:443"], true),
        ("10.0.0.1:5000", ["10.0.0.1"], true),
        ("[::1]:5000", ["::1"], true),
        ("[fd00::2]", ["[fd00::2]:8443"], true),
        ("[fd00::2]", ["fd00::1"], false),
    ])
    func noProxyExcludesHostsAndTheirSubdomains(host: String, entries: [String], excluded: Bool) {
        #expect(noProxyExcludes(host, rules: entries) == excluded)
        let transport = TransportOptions(environment: ["HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": entries.joined(separator: ",")])
        #expect((transport.proxy(for: host, plainHTTP: false) == nil) == excluded, "pull/push read NO_PROXY the same way")
    }

    @Test func theEndpointsOwnProxyWinsOverTheEnvironment() throws {
        let text =
            """
            apiVersion: airlock/v1\nkind: ModelEndpoint\nmetadata: {name: m}\nspec:\n  provider: openai-compatible\n  baseURL: \
            https://llm.example.com/v1\n  model: m\n  auth: {type: none}\n
            """
        var endpoint = try ModelEndpoint.parse(try #require(try parseDocuments(text, file: "m.yaml").first))
        endpoint.proxy = .init(httpsProxy: "http://proxy.corp:8080", httpProxy: nil, noProxy: [])
        let choice = ProxyChoice(
            endpoint: endpoint,
            environment: ["HTTPS_PROXY": "http://env-proxy:3128"],
            host: "llm.example.com",
            secure: true
        )
        #expect(choice?.host == "proxy.corp" && choice?.port == 8080 && choice?.origin == "proxy.httpsProxy")
        endpoint.proxy = nil
        let fromEnvironment = ProxyChoice(
            endpoint: endpoint,
            environment: ["https_proxy": "env-proxy:3128", "NO_PROXY": "example.org"],
            host: "llm.example.com",
            secure: true
        )
        #expect(fromEnvironment?.host == "env-proxy" && fromEnvironment?.origin == "HTTPS_PROXY")
        #expect(
            ProxyChoice(
                endpoint: endpoint,
                environment: ["HTTPS_PROXY": "http://p:1", "NO_PROXY": ".example.com"],
                host: "llm.example.com",
                secure: true
            ) == nil
        )
    }
}
