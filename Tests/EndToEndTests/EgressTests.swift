import Foundation
import TestSupport
import Testing

/// `kind: Egress` in `airlock preflight`: a loopback HTTPS server with its own CA stands in for a
/// vendor's license server (none is reachable from here); it is reached directly, through
/// Debian's tinyproxy, and through mitmproxy intercepting TLS with its own CA. The paths that must
/// stay closed are a loopback port nothing listens on and a name under `.invalid` (RFC 6761: it
/// never resolves); both must fail directly and through the proxy. No test leaves loopback.
@Suite(.removesTemporaryFolders, .needs(.python3, .openssl, .tinyproxy), .enabled(if: Harness.isCI || Mitmproxy.installed))
struct EgressTests {
    /// No proxy from the environment unless a test sets one.
    static let noProxy = ["HTTPS_PROXY": "", "https_proxy": "", "HTTP_PROXY": "", "http_proxy": "", "NO_PROXY": "", "no_proxy": ""]

    struct Servers {
        let root: String
        let license: PythonServer
        let tinyproxy: TinyProxy
        let mitmproxy: Mitmproxy
        let closedPort: Int
        var licenseURL: String { "https://127.0.0.1:\(license.port)/v1/health" }

        func stop() {
            license.stop()
            tinyproxy.stop()
            mitmproxy.stop()
        }
    }

    private func startServers() throws -> Servers {
        let root = try Harness.temporaryDirectory("egress")
        let ca = try TestCA(root: root, name: "License Test CA")
        try FileManager.default.createDirectory(atPath: "\(root)/site/v1", withIntermediateDirectories: true)
        try "{\"status\": \"licensed\"}\n".write(toFile: "\(root)/site/v1/health", atomically: true, encoding: .utf8)
        let license = try PythonServer.staticSite("\(root)/site", certificate: try ca.issue("license"))
        #expect(try Harness.run(["cp", ca.certificate, "\(root)/license-ca.pem"]).status == 0)
        let mitmproxy = try Mitmproxy(root: root, upstreamCA: ca.certificate)
        #expect(try Harness.run(["cp", mitmproxy.caCertificate, "\(root)/mitm-ca.pem"]).status == 0)
        return Servers(root: root, license: license, tinyproxy: try TinyProxy(), mitmproxy: mitmproxy, closedPort: try freePort())
    }

    private func egressFile(
        _ servers: Servers,
        name: String = "platform",
        reachCA: String = "license-ca.pem",
        extraBlock: String = ""
    ) throws
        -> String
    {
        let path = "\(servers.root)/\(name).yaml"
        try """
        apiVersion: airlock/v1
        kind: Egress
        metadata: {name: \(name)}
        spec:
          reach:
            - {name: license, url: "\(servers.licenseURL)", via: proxy, caFile: ./\(reachCA)}
            - {name: license-direct, url: "\(servers.licenseURL)", via: direct, caFile: ./license-ca.pem}
          block:
            - {name: closed-port, host: "127.0.0.1:\(servers.closedPort)"}
            - {name: telemetry, url: "https://telemetry.airlock-test.invalid/v1/events"}
        \(extraBlock)
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private func preflight(_ arguments: [String], in folder: String, proxy: String?) throws -> (Harness.Output, [[String: Any]]) {
        var environment = Self.noProxy
        if let proxy { environment["HTTPS_PROXY"] = proxy }
        let run = try Harness.airlock(
            ["preflight"] + arguments + ["--output", "json", "--timeout", "5"],
            in: folder,
            environment: environment
        )
        let report = (try? JSONSerialization.jsonObject(with: run.data) as? [String: Any]) ?? [:]
        return (run, (report["egress"] as? [[String: Any]]) ?? [])
    }

    private func steps(_ report: [String: Any]) -> [(name: String, ok: Bool, detail: String)] {
        ((report["steps"] as? [[String: Any]]) ?? []).map {
            ($0["name"] as? String ?? "", $0["ok"] as? Bool ?? false, $0["detail"] as? String ?? "")
        }
    }

    @Test func theLicensePathAnswersThroughTinyproxyAndTheGapHolds() throws {
        let servers = try startServers()
        defer { servers.stop() }
        let file = try egressFile(servers)
        let (run, reports) = try preflight([file], in: servers.root, proxy: "http://\(servers.tinyproxy.address)")
        try #require(run.status == 0, "preflight: \(run.stdout)\(run.stderr)")
        #expect(
            reports.map { $0["endpoint"] as? String } == [
                "platform/license", "platform/license-direct", "platform/closed-port", "platform/telemetry",
            ]
        )
        #expect(reports.allSatisfy { $0["ok"] as? Bool == true })

        let license = steps(reports[0])
        #expect(license.map(\.name) == ["dns", "connect", "proxy", "tls", "request"], "\(license)")
        #expect(license.last?.detail.hasPrefix("GET /v1/health → 200") == true)
        #expect(license.contains { $0.name == "tls" && $0.detail.contains("issued by CN=License Test CA") })
        #expect(servers.tinyproxy.log().contains("CONNECT"), "the reach went through tinyproxy")
        #expect(steps(reports[1]).map(\.name) == ["dns", "connect", "tls", "request"], "direct: no proxy step")

        // Each blocked path failed both ways, for the reason a firewall gives.
        let closed = steps(reports[2])
        #expect(closed.map(\.name) == ["direct", "via-proxy"])
        #expect(closed[0].detail.hasPrefix("blocked: ") && closed[0].detail.contains("refused"), "\(closed)")
        #expect(closed[1].detail.hasPrefix("blocked: the proxy answered 5"), "tinyproxy could not connect: \(closed)")
        let telemetry = steps(reports[3])
        #expect(telemetry[0].detail == "blocked: telemetry.airlock-test.invalid does not resolve", "\(telemetry)")
        #expect(telemetry[1].detail.hasPrefix("blocked: the proxy answered"), "\(telemetry)")
        #expect(reports[2]["check"] as? String == "block" && reports[0]["check"] as? String == "reach")

        // The text report: one block per check, in the endpoint reports' shape.
        let text = try Harness.airlock(
            ["preflight", file],
            in: servers.root,
            environment: Self.noProxy.merging(["HTTPS_PROXY": "http://\(servers.tinyproxy.address)"]) { $1 }
        )
        #expect(text.status == 0)
        #expect(text.stdout.contains("platform/closed-port (egress block, 127.0.0.1:\(servers.closedPort))"), "\(text.stdout)")
    }

    @Test func throughMitmproxyTheReachNeedsItsCA() throws {
        let servers = try startServers()
        defer { servers.stop() }
        // The proxy from the site file, not the environment.
        let site = "\(servers.root)/site.yaml"
        try """
        apiVersion: airlock/v1
        kind: Site
        metadata: {name: plant-7}
        spec:
          registry: registry.plant7.internal
          proxy: {httpsProxy: "http://127.0.0.1:\(servers.mitmproxy.port)"}
        """.write(toFile: site, atomically: true, encoding: .utf8)

        let intercepted = try egressFile(servers, reachCA: "mitm-ca.pem")
        let (passing, reports) = try preflight([intercepted, "--site", site], in: servers.root, proxy: nil)
        #expect(passing.status == 0, "\(passing.stdout)\(passing.stderr)")
        #expect(steps(reports[0]).contains { $0.name == "tls" && $0.detail.contains("issued by CN=mitmproxy") }, "\(reports[0])")
        #expect((reports[0]["proxy"] as? String)?.contains("site.yaml proxy") == true)

        // Without the intercepting proxy's CA, the reach fails at TLS, naming the issuer.
        let (failing, failed) = try preflight([try egressFile(servers), "--site", site], in: servers.root, proxy: nil)
        #expect(failing.status == 1)
        let tls = try #require(steps(failed[0]).last)
        #expect(tls.name == "tls" && !tls.ok && tls.detail.contains("issuer CN=mitmproxy"), "\(tls)")
        #expect(failing.stderr.contains("first: platform/license: TLS:"), "\(failing.stderr)")
    }

    @Test func aPathThatShouldBeBlockedButAnswersIsAFailedLine() throws {
        let servers = try startServers()
        defer { servers.stop() }
        let file = try egressFile(servers, extraBlock: "    - {name: leak, url: \"https://127.0.0.1:\(servers.license.port)/\"}\n")
        let (run, reports) = try preflight([file], in: servers.root, proxy: "http://\(servers.tinyproxy.address)")
        #expect(run.status == 1)
        let leak = try #require(reports.first { $0["endpoint"] as? String == "platform/leak" })
        #expect(leak["ok"] as? Bool == false)
        let both = steps(leak)
        #expect(both.map(\.ok) == [false, false], "open directly and through the proxy: \(both)")
        #expect(both[0].detail.contains("is reachable directly (a connection to 127.0.0.1:\(servers.license.port) opened)"))
        #expect(both[1].detail.contains("is reachable through the proxy (the proxy granted CONNECT"))
        #expect(run.stderr.contains("first: platform/leak: leak: https://127.0.0.1:\(servers.license.port)/ is reachable directly"))

        // via: proxy with no proxy anywhere is a failure that says what to set.
        let (noProxy, unproxied) = try preflight([file], in: servers.root, proxy: nil)
        #expect(noProxy.status == 1)
        #expect((unproxied[0]["failure"] as? String)?.contains("must be reached via the proxy, but none is set") == true)
        #expect(steps(unproxied[2])[1].detail == "no proxy is set here: only the direct path was checked")
    }

    @Test func theBundleCarriesItsEgressDocument() throws {
        let servers = try startServers()
        defer { servers.stop() }
        let build = "\(servers.root)/build"
        try FileManager.default.createDirectory(atPath: build, withIntermediateDirectories: true)
        for file in ["license-ca.pem"] { #expect(try Harness.run(["cp", "\(servers.root)/\(file)", "\(build)/\(file)"]).status == 0) }
        #expect(try Harness.run(["cp", try egressFile(servers), "\(build)/egress.yaml"]).status == 0)
        try """
        apiVersion: airlock/v1
        kind: Bundle
        metadata: {name: paths, version: "1", created: "2026-11-01T00:00:00Z"}
        egress: [{path: ./egress.yaml}]
        """.write(toFile: "\(build)/airlock.yaml", atomically: true, encoding: .utf8)
        #expect(try Harness.airlock(["key", "generate", "--out", "signer"], in: build).status == 0)
        let pack = try Harness.airlock(["pack", "--key", "signer.key", "-q"], in: build)
        try #require(pack.status == 0, "\(pack.stderr)")
        let proxy = "http://\(servers.tinyproxy.address)"
        // Moved away from its CA file: the bundle's own copy is what is trusted.
        try FileManager.default.removeItem(atPath: "\(build)/license-ca.pem")
        let (bundle, fromBundle) = try preflight(["paths-1.tar.zst", "--key", "signer.pub"], in: build, proxy: proxy)
        #expect(bundle.status == 0, "\(bundle.stdout)\(bundle.stderr)")
        #expect(fromBundle.count == 4 && fromBundle.allSatisfy { $0["ok"] as? Bool == true })
        #expect(try Harness.airlock(["unpack", "paths-1.tar.zst", "-o", "unpacked", "--key", "signer.pub"], in: build).status == 0)
        let (folder, fromFolder) = try preflight(["unpacked"], in: build, proxy: proxy)
        #expect(folder.status == 0 && fromFolder.count == 4, "\(folder.stdout)\(folder.stderr)")
        let unsigned = try preflight(["paths-1.tar.zst"], in: build, proxy: proxy).0
        #expect(unsigned.status == 2, "a bundle's checks are read only once its signature is checked: \(unsigned.stderr)")
    }
}
