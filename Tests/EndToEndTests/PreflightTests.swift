import Foundation
import TestSupport
import Testing

/// `airlock preflight` against stand-ins for the four providers (no real provider is reachable
/// from this machine, so `Tests/Fixtures/providers.py` answers each provider's documented request
/// shape over HTTPS with a test CA and checks the credential header), directly, through Debian's
/// tinyproxy, and through mitmproxy (PyPI) intercepting TLS with its own CA.
@Suite(.removesTemporaryFolders, .needs(.python3, .openssl, .tinyproxy), .enabled(if: Harness.isCI || Mitmproxy.installed))
struct PreflightTests {
    static let apiKey = "sk-test-0123456789abcdef"
    /// Proxy variables cleared, so only the endpoint's own proxy settings apply.
    static let environment = ["PROVIDER_KEY": apiKey, "HTTPS_PROXY": "", "https_proxy": "", "NO_PROXY": "", "no_proxy": ""]

    /// The four providers as the stand-in serves them: (name, provider, path under the server, model/deployment lines).
    static let providers: [(name: String, provider: String, path: String, fields: String)] = [
        ("openai", "openai-compatible", "/openai/v1", "model: gpt-4o\n  auth: {type: bearer, valueFrom: {env: PROVIDER_KEY}}"),
        ("anthropic", "anthropic", "/anthropic", "model: claude-sonnet-4-5\n  auth: {type: api-key, valueFrom: {env: PROVIDER_KEY}}"),
        (
            "azure-claude", "azure-anthropic", "/azure-claude/anthropic",
            "model: claude-sonnet-4-5\n  allowCustomHost: true\n  auth: {type: api-key, valueFrom: {env: PROVIDER_KEY}}"
        ),
        (
            "foundry", "azure-ai-foundry", "/azure-openai",
            """
            deployment: gpt-4o-prod\n  apiVersion: \"2024-10-21\"\n  allowCustomHost: true\n  auth: {type: api-key, valueFrom: {env: \
            PROVIDER_KEY}}
            """
        ),
    ]

    struct Servers {
        let root: String
        let ca: TestCA
        let providers: PythonServer
        let tinyproxy: TinyProxy
        let mitmproxy: Mitmproxy

        func stop() {
            providers.stop()
            tinyproxy.stop()
            mitmproxy.stop()
            try? FileManager.default.removeItem(atPath: root)
        }
    }

    private func startServers() throws -> Servers {
        let root = try Harness.temporaryDirectory("preflight")
        let ca = try TestCA(root: root, name: "Provider Test CA")
        let certificate = try ca.issue("provider")
        let providers = try PythonServer(fixture: "providers.py", arguments: [certificate.certificate, certificate.key, Self.apiKey])
        let mitmproxy = try Mitmproxy(root: root, upstreamCA: ca.certificate)
        return Servers(root: root, ca: ca, providers: providers, tinyproxy: try TinyProxy(), mitmproxy: mitmproxy)
    }

    /// Writes an endpoint file and returns its path.
    private func endpoint(
        _ name: String,
        provider: String,
        baseURL: String,
        fields: String,
        proxy: String? = nil,
        caFile: String?,
        timeout: Int? = nil,
        in folder: String
    ) throws -> String {
        var text =
            """
            apiVersion: airlock/v1\nkind: ModelEndpoint\nmetadata:\n  name: \(name)\nspec:\n  provider: \(provider)\n  baseURL: \
            \(baseURL)\n  \(fields)\n
            """
        if let proxy { text += "  proxy: {httpsProxy: \"\(proxy)\"}\n" }
        if let caFile { text += "  caFile: \(caFile)\n" }
        if let timeout { text += "  timeoutSeconds: \(timeout)\n" }
        let path = "\(folder)/\(name).yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private func preflight(
        _ path: String,
        environment: [String: String] = PreflightTests.environment,
        extra: [String] = []
    ) throws -> (status: Int32, report: [String: Any], stderr: String) {
        let run = try Harness.airlock(
            ["preflight", path, "--output", "json"] + extra,
            in: URL(fileURLWithPath: path).deletingLastPathComponent().path,
            environment: environment
        )
        let report = (try? JSONSerialization.jsonObject(with: run.data) as? [String: Any]) ?? [:]
        return (run.status, report, run.stderr)
    }

    private func first(_ report: [String: Any]) -> [String: Any] {
        ((report["endpoints"] as? [[String: Any]]) ?? []).first ?? [:]
    }

    @Test func everyProviderPassesDirectThroughTinyproxyAndThroughMitmproxyWithItsCA() throws {
        let servers = try startServers()
        defer { servers.stop() }
        let folder = "\(servers.root)/endpoints"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        // caFile for mitmproxy: its CA, which signs every certificate it presents.
        try FileManager.default.copyItem(atPath: servers.mitmproxy.caCertificate, toPath: "\(folder)/mitm-ca.pem")
        try FileManager.default.copyItem(atPath: servers.ca.certificate, toPath: "\(folder)/provider-ca.pem")
        let base = "https://127.0.0.1:\(servers.providers.port)"
        for route in [
            ("direct", nil as String?, "provider-ca.pem"), ("tinyproxy", "http://\(servers.tinyproxy.address)", "provider-ca.pem"),
            ("mitmproxy", "http://127.0.0.1:\(servers.mitmproxy.port)", "mitm-ca.pem"),
        ] {
            for provider in Self.providers {
                let file = try endpoint(
                    "\(provider.name)-\(route.0)",
                    provider: provider.provider,
                    baseURL: base + provider.path,
                    fields: provider.fields,
                    proxy: route.1,
                    caFile: route.2,
                    in: folder
                )
                let run = try preflight(file)
                let report = first(run.report)
                #expect(run.status == 0 && report["ok"] as? Bool == true, "\(provider.name) \(route.0): \(run.stderr)")
                let steps = (report["steps"] as? [[String: Any]]) ?? []
                #expect(
                    steps.map { $0["name"] as? String ?? "" } == ["credentials", "dns", "connect"] + (route.1 == nil ? [] : ["proxy"]) + [
                        "tls", "request", "model",
                    ],
                    "\(provider.name) \(route.0): \(steps)"
                )
                let tls = steps.first { $0["name"] as? String == "tls" }
                let issuer = ((tls?["certificates"] as? [[String: Any]])?.first?["issuer"] as? String) ?? ""
                #expect(
                    issuer.contains(route.0 == "mitmproxy" ? "mitmproxy" : "Provider Test CA"),
                    "\(route.0): the chain is reported: \(issuer)"
                )
                #expect((report["proxy"] as? String)?.hasPrefix(route.1 ?? "none") ?? (route.1 == nil))
                let json = String(decoding: try JSONSerialization.data(withJSONObject: run.report), as: UTF8.self)
                #expect(!run.stderr.contains(Self.apiKey) && !json.contains(Self.apiKey), "no secret in the output")
            }
        }
        #expect(servers.tinyproxy.log().contains("CONNECT"), "the requests went through tinyproxy")

        // The whole folder at once, text output: every endpoint listed, exit 0.
        let all = try Harness.airlock(["preflight", folder], in: servers.root, environment: Self.environment)
        #expect(all.status == 0 && all.stdout.components(separatedBy: "→ ok").count == 13, "\(all.stdout)\(all.stderr)")
    }

    @Test func eachFailureIsOneDistinctLineSayingWhatToFix() throws {
        let servers = try startServers()
        defer { servers.stop() }
        let folder = "\(servers.root)/endpoints"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: servers.ca.certificate, toPath: "\(folder)/provider-ca.pem")
        let base = "https://127.0.0.1:\(servers.providers.port)"
        let openai = Self.providers[0], foundry = Self.providers[3], anthropic = Self.providers[1]

        func failure(
            _ file: String,
            environment: [String: String] = PreflightTests.environment
        ) throws -> (step: String, line: String, stderr: String) {
            let run = try preflight(file, environment: environment)
            #expect(run.status == 1, "\(file): \(run.stderr)")
            let report = first(run.report)
            let failed = ((report["steps"] as? [[String: Any]]) ?? []).last { $0["ok"] as? Bool == false }
            #expect(run.stderr.split(separator: "\n").count == 1, "one line: \(run.stderr)")
            #expect(!run.stderr.contains(Self.apiKey))
            return (failed?["name"] as? String ?? "", report["failure"] as? String ?? "", run.stderr)
        }

        // Through mitmproxy without its CA: TLS fails, naming mitmproxy's CA as the unknown issuer.
        let intercepted = try failure(
            try endpoint(
                "intercepted",
                provider: openai.provider,
                baseURL: base + openai.path,
                fields: openai.fields,
                proxy: "http://127.0.0.1:\(servers.mitmproxy.port)",
                caFile: "provider-ca.pem",
                in: folder
            )
        )
        #expect(
            intercepted.step == "tls" && intercepted.line.hasPrefix("TLS: unknown issuer CN=mitmproxy")
                && intercepted.line.contains("add it to caFile"),
            "\(intercepted.line)"
        )

        // Wrong key: the HTTP status and the header used, by name only.
        let wrongKey = try failure(
            try endpoint(
                "wrong-key",
                provider: foundry.provider,
                baseURL: base + foundry.path,
                fields: foundry.fields,
                caFile: "provider-ca.pem",
                in: folder
            ),
            environment: Self.environment.merging(["PROVIDER_KEY": "sk-wrong-key-000000"]) { _, new in new }
        )
        #expect(
            wrongKey.step == "request" && wrongKey.line.hasPrefix("HTTP 401 from 127.0.0.1")
                && wrongKey.line.contains("header api-key, from env PROVIDER_KEY"),
            "\(wrongKey.line)"
        )
        #expect(!wrongKey.stderr.contains("sk-wrong-key"))
        let wrongBearer = try failure(
            try endpoint(
                "wrong-bearer",
                provider: openai.provider,
                baseURL: base + openai.path,
                fields: openai.fields,
                caFile: "provider-ca.pem",
                in: folder
            ),
            environment: Self.environment.merging(["PROVIDER_KEY": "sk-wrong-key-000000"]) { _, new in new }
        )
        #expect(wrongBearer.line.contains("HTTP 401") && wrongBearer.line.contains("header Authorization: Bearer"), "\(wrongBearer.line)")

        // Unknown model or deployment: named.
        let noDeployment = try failure(
            try endpoint(
                "no-deployment",
                provider: foundry.provider,
                baseURL: base + foundry.path,
                fields: foundry.fields.replacingOccurrences(of: "gpt-4o-prod", with: "gpt-5-nope"),
                caFile: "provider-ca.pem",
                in: folder
            )
        )
        #expect(
            noDeployment.step == "model" && noDeployment.line.hasPrefix("deployment gpt-5-nope not found")
                && noDeployment.line.contains("DeploymentNotFound")
        )
        let noModel = try failure(
            try endpoint(
                "no-model",
                provider: anthropic.provider,
                baseURL: base + anthropic.path,
                fields: anthropic.fields.replacingOccurrences(of: "claude-sonnet-4-5", with: "claude-nope"),
                caFile: "provider-ca.pem",
                in: folder
            )
        )
        #expect(noModel.step == "model" && noModel.line.hasPrefix("model claude-nope not found"), "\(noModel.line)")
        let unlisted = try failure(
            try endpoint(
                "unlisted",
                provider: openai.provider,
                baseURL: base + openai.path,
                fields: openai.fields.replacingOccurrences(of: "gpt-4o", with: "gpt-9"),
                caFile: "provider-ca.pem",
                in: folder
            )
        )
        #expect(
            unlisted.line.hasPrefix("model gpt-9 is not served at 127.0.0.1 (it lists gpt-4o, gpt-4o-mini, claude-sonnet-4-5)"),
            "\(unlisted.line)"
        )

        // Proxy down, DNS failure, timeout: each its own cause.
        let proxyDown = try failure(
            try endpoint(
                "proxy-down",
                provider: openai.provider,
                baseURL: base + openai.path,
                fields: openai.fields,
                proxy: "http://127.0.0.1:\(try freePort())",
                caFile: "provider-ca.pem",
                in: folder
            )
        )
        #expect(
            proxyDown.step == "connect" && proxyDown.line.hasPrefix("connect: cannot connect to 127.0.0.1:")
                && proxyDown.line.contains("proxy.httpsProxy"),
            "\(proxyDown.line)"
        )
        let noDNS = try failure(
            try endpoint(
                "no-dns",
                provider: openai.provider,
                baseURL: "https://llm.does-not-exist.invalid/v1",
                fields: openai.fields,
                caFile: "provider-ca.pem",
                in: folder
            )
        )
        #expect(noDNS.step == "dns" && noDNS.line.hasPrefix("DNS: cannot resolve llm.does-not-exist.invalid"), "\(noDNS.line)")
        let slow = try failure(
            try endpoint(
                "slow",
                provider: openai.provider,
                baseURL: base + "/hang/v1",
                fields: openai.fields,
                caFile: "provider-ca.pem",
                timeout: 2,
                in: folder
            )
        )
        #expect(
            slow.step == "request" && slow.line.hasPrefix("timeout: 127.0.0.1 did not answer GET /hang/v1/models within 2 s"),
            "\(slow.line)"
        )
        let unset = try failure(
            try endpoint(
                "unset",
                provider: openai.provider,
                baseURL: base + openai.path,
                fields: openai.fields,
                caFile: "provider-ca.pem",
                in: folder
            ),
            environment: ["HTTPS_PROXY": "", "https_proxy": ""]
        )
        #expect(
            unset.step == "credentials" && unset.line == "auth: environment variable PROVIDER_KEY is not set — export it before preflight"
        )
        let causes = [intercepted, wrongKey, noDeployment, proxyDown, noDNS, slow, unset].map { $0.line.prefix(12) }
        #expect(Set(causes).count == causes.count, "distinct causes: \(causes)")
    }

    @Test func aBundleAndItsUnpackedFolderArePreflightedWithTheirCarriedCA() throws {
        let servers = try startServers()
        defer { servers.stop() }
        let build = "\(servers.root)/build"
        try FileManager.default.createDirectory(atPath: "\(build)/endpoints", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: servers.ca.certificate, toPath: "\(build)/endpoints/provider-ca.pem")
        let provider = Self.providers[2]
        _ = try endpoint(
            "claude",
            provider: provider.provider,
            baseURL: "https://127.0.0.1:\(servers.providers.port)\(provider.path)",
            fields: provider.fields,
            caFile: "provider-ca.pem",
            in: "\(build)/endpoints"
        )
        try """
        apiVersion: airlock/v1
        kind: Bundle
        metadata: {name: models, version: "1", created: "2026-11-01T00:00:00Z"}
        endpoints: [{path: ./endpoints/claude.yaml}]
        """.write(toFile: "\(build)/airlock.yaml", atomically: true, encoding: .utf8)
        #expect(try Harness.airlock(["key", "generate", "--out", "signer"], in: build).status == 0)
        #expect(try Harness.airlock(["pack", "-q", "--key", "signer.key"], in: build).status == 0)
        let bundle = try Harness.airlock(
            ["preflight", "models-1.tar.zst", "--key", "signer.pub", "--endpoint", "claude"],
            in: build,
            environment: Self.environment
        )
        #expect(bundle.status == 0 && bundle.stdout.contains("→ ok"), "\(bundle.stdout)\(bundle.stderr)")
        let untrusted = try Harness.airlock(["preflight", "models-1.tar.zst"], in: build, environment: Self.environment)
        #expect(untrusted.status == 2 && untrusted.stderr.contains("--key"), "a bundle is read only when trusted: \(untrusted.stderr)")
        #expect(try Harness.airlock(["unpack", "models-1.tar.zst", "-o", "unpacked", "--key", "signer.pub"], in: build).status == 0)
        let folder = try Harness.airlock(["preflight", "unpacked"], in: build, environment: Self.environment)
        #expect(folder.status == 0 && folder.stdout.contains("claude (azure-anthropic"), "\(folder.stdout)\(folder.stderr)")
        let unknown = try Harness.airlock(["preflight", "unpacked", "--endpoint", "gpt"], in: build, environment: Self.environment)
        #expect(unknown.status == 2 && unknown.stderr.contains("no endpoint named gpt"), "\(unknown.stderr)")
    }
}

/// mitmproxy's mitmdump as a TLS-intercepting forward proxy on a free loopback port; its CA is
/// created in its own folder on start.
final class Mitmproxy: @unchecked Sendable {
    // @unchecked: used only by the test that owns it.
    /// Installed by scripts/setup into the project's .venv.
    static let mitmdump = "\(Harness.packageRoot)/.venv/bin/mitmdump"
    static var installed: Bool { FileManager.default.isExecutableFile(atPath: mitmdump) }
    let port: Int
    let confdir: String
    private let process = Process()
    var caCertificate: String { "\(confdir)/mitmproxy-ca-cert.pem" }

    init(root: String, upstreamCA: String) throws {
        port = try freePort()
        confdir = "\(root)/mitmproxy"
        process.executableURL = URL(fileURLWithPath: Self.mitmdump)
        process.arguments = [
            "--listen-host", "127.0.0.1", "--listen-port", "\(port)", "--set", "confdir=\(confdir)",
            "--set", "ssl_verify_upstream_trusted_ca=\(upstreamCA)", "-q",
        ]
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        for _ in 0..<600 {
            if canConnect(port: port) && FileManager.default.fileExists(atPath: caCertificate) { return }
            usleep(25_000)
        }
        stop()
        Issue.record("mitmdump did not start on port \(port)")
    }

    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
