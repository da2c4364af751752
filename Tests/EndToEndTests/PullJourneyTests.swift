import Foundation
import TestSupport
import Testing

/// The builder packs from registries: a real `docker-registry` seeded with skopeo (an OCI image,
/// a Docker v2s2 image, a multi-platform index) and a Helm chart artifact.
@Suite(.removesTemporaryFolders, .needs(.dockerRegistry, .skopeo, .htpasswd, .zstd, .python3, .openssl, .tinyproxy))
struct PullJourneyTests {
    /// Seeds `registry` under `src/` from the example's layout; returns the refs.
    func seed(_ registry: TestRegistry, example: String) throws {
        let destination =
            registry.tls
            ? ["--dest-creds", "\(TestRegistry.username):\(TestRegistry.password)", "--dest-cert-dir", "\(registry.root)/certs.d"]
            : ["--dest-tls-verify=false"]
        let layout = "\(example)/build/oci"
        for (source, target, extra) in [
            ("app-1.4.2", "src/app:oci", [String]()), ("app-1.4.2", "src/app:v2s2", ["--format", "v2s2"]),
            ("multi-1.4.2", "src/multi:1.4.2", ["--all"]),
        ] {
            let copy = try Harness.run(
                ["skopeo", "copy", "--quiet"] + extra + destination + ["oci:\(layout):\(source)", "docker://\(registry.host)/\(target)"]
            )
            try #require(copy.status == 0, "seed \(target): \(copy.stderr)")
        }
    }

    func rawDigest(_ registry: TestRegistry, _ reference: String) throws -> String {
        let raw = try Harness.run(["skopeo", "inspect", "--raw"] + registry.skopeoFlags + ["docker://\(registry.host)/\(reference)"])
        try #require(raw.status == 0, "\(reference): \(raw.stderr)")
        return "sha256:" + (try Harness.run(["sha256sum"], stdin: raw.data).stdout.prefix(64))
    }

    func spec(_ host: String, extra: String = "") -> String {
        """
        apiVersion: airlock/v1
        kind: Bundle
        metadata: {name: pulled, version: "1", created: "2026-11-01T00:00:00Z"}
        images:
          - ref: \(host)/src/app:oci
          - ref: \(host)/src/app:v2s2
            name: registry.example.com/team/app-v2s2:1
          - ref: \(host)/src/multi:1.4.2
          - ref: \(host)/src/multi:1.4.2
            name: registry.example.com/team/multi-arm:1
            platforms: [linux/arm64]
        \(extra)
        """
    }

    @Test func imagesAndChartsPullFromAPlainRegistryWithTheirDigestsAndAPlatformSubset() throws {
        let registry = try TestRegistry(tls: false)
        defer { registry.stop() }
        let packed = try PackedExample.make()
        try seed(registry, example: packed.example)
        // The chart artifact goes in with airlock push (skopeo 1.9 does not copy Helm artifacts).
        #expect(
            try Harness.airlock(
                [
                    "push", packed.bundle, "--registry", "\(registry.host)/seed", "--plain-http", registry.host,
                    "--key", "signer.pub", "-q", "--config-dir", "cfg",
                ],
                in: packed.example
            ).status == 0
        )
        let work = "\(packed.root)/pull"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        try spec(registry.host, extra: "charts:\n  - ref: oci://\(registry.host)/seed/charts/platform:1.4.2\n")
            .write(toFile: "\(work)/airlock.yaml", atomically: true, encoding: .utf8)
        let pack = try Harness.airlock(["pack", "--plain-http", registry.host, "--output", "json"], in: work)
        try #require(pack.status == 0, "pack: \(pack.stderr)")
        let result = try #require(try JSONSerialization.jsonObject(with: pack.data) as? [String: Any])
        // Progress as JSON lines on stderr, and the pull summary in the result.
        let events = pack.stderr.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(
            Set(events.compactMap { $0["event"] as? String }).isSuperset(of: ["collecting", "pulling", "pulled", "writing", "wrote"]),
            "\(pack.stderr)"
        )
        let pulled = try #require(result["pulled"] as? [String: Any])
        #expect((pulled["blobs"] as? Int ?? 0) > 0 && pulled["blobs"] as? Int == events.filter { $0["event"] as? String == "pulled" }.count)
        let images = try #require(result["images"] as? [[String: Any]])
        let byName = Dictionary(uniqueKeysWithValues: images.map { ($0["name"] as? String ?? "", $0) })
        #expect(byName["\(registry.host)/src/app:oci"]?["digest"] as? String == (try rawDigest(registry, "src/app:oci")))
        #expect(byName["registry.example.com/team/app-v2s2:1"]?["digest"] as? String == (try rawDigest(registry, "src/app:v2s2")))
        #expect(
            byName["registry.example.com/team/app-v2s2:1"]?["mediaType"] as? String
                == "application/vnd.docker.distribution.manifest.v2+json"
        )
        let multi = try rawDigest(registry, "src/multi:1.4.2")
        #expect(byName["\(registry.host)/src/multi:1.4.2"]?["digest"] as? String == multi)
        #expect(byName["\(registry.host)/src/multi:1.4.2"]?["platforms"] as? [String] == ["linux/amd64", "linux/arm64"])
        let arm = try #require(byName["registry.example.com/team/multi-arm:1"])
        #expect(arm["sourceDigest"] as? String == multi, "old index digest recorded")
        #expect(arm["digest"] as? String != multi && arm["platforms"] as? [String] == ["linux/arm64"])
        let chart = try #require((result["charts"] as? [[String: Any]])?.first)
        #expect(chart["digest"] as? String == (try rawDigest(registry, "seed/charts/platform:1.4.2")), "chart manifest kept byte for byte")

        // On a terminal (script(1) gives it one), a live line with counts and rate, and the summary.
        if Harness.has("script") {
            let live = try Harness.run(
                ["script", "-qec", "\(Harness.airlock) pack --plain-http \(registry.host) -o live.tar.zst", "/dev/null"],
                in: work,
                environment: ["AIRLOCK_CACHE": "\(work)/.cache-live"]
            )
            let blobs = pulled["blobs"] as? Int ?? -1
            #expect(
                live.status == 0 && live.stdout.contains("\r\u{1B}[2K") && live.stdout.contains("blobs \(blobs)/\(blobs)"),
                "\(live.stdout)"
            )
            #expect(live.stdout.contains("pulled \(blobs) blobs"), "\(live.stdout)")
        }

        // The bundle verifies, and its images copy out whole.
        let unpack = try Harness.airlock(["unpack", "pulled-1.tar.zst", "-o", "u", "--allow-unsigned"], in: work)
        #expect(unpack.status == 0, "\(unpack.stderr)")
        let copy = try Harness.run([
            "skopeo", "copy", "--quiet", "--all", "oci:\(work)/u/oci:registry.example.com/team/multi-arm:1", "oci:\(work)/c:m",
        ])
        #expect(copy.status == 0, "\(copy.stderr)")
    }

    @Test func credentialsCAsProxiesAndMissingTagsEachFailWithOneLineAndNoBundle() throws {
        let registry = try TestRegistry(tls: true)
        defer { registry.stop() }
        let root = try Harness.temporaryDirectory()
        let example = try Harness.makeExample(in: root, dockerArchive: false, layerMB: 4)
        try seed(registry, example: example)
        try spec(registry.host).write(toFile: "\(root)/airlock.yaml", atomically: true, encoding: .utf8)
        let docker = ["DOCKER_CONFIG": "\(root)/docker", "NO_PROXY": "", "no_proxy": "", "HTTPS_PROXY": "", "https_proxy": ""]

        func expectFailure(_ arguments: [String], environment: [String: String] = [:], status: Int32 = 3, saying text: String) throws {
            let result = try Harness.airlock(
                ["pack", "-q"] + arguments,
                in: root,
                environment: docker.merging(environment) { _, new in new }
            )
            #expect(result.status == status, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains(text), "expected \"\(text)\" in: \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "one line: \(result.stderr)")
            #expect(!result.stderr.contains(TestRegistry.password))
            #expect(!FileManager.default.fileExists(atPath: "\(root)/pulled-1.tar.zst"))
        }

        try expectFailure(["--ca-file", registry.caFile], saying: "airlock login \(registry.host)")
        try expectFailure([], saying: "--ca-file")
        // Wrong password, stored the way docker does.
        try FileManager.default.createDirectory(atPath: "\(root)/docker", withIntermediateDirectories: true)
        let wrong = Data("\(TestRegistry.username):not-the-password".utf8).base64EncodedString()
        try "{\"auths\":{\"\(registry.host)\":{\"auth\":\"\(wrong)\"}}}".write(
            toFile: "\(root)/docker/config.json",
            atomically: true,
            encoding: .utf8
        )
        try expectFailure(["--ca-file", registry.caFile], saying: "refused the credentials")
        try FileManager.default.removeItem(atPath: "\(root)/docker/config.json")
        let login = try Harness.run(
            [Harness.airlock, "login", registry.host, "-u", TestRegistry.username, "--password-stdin", "--ca-file", registry.caFile],
            environment: docker,
            stdin: Data(TestRegistry.password.utf8)
        )
        #expect(login.status == 0, "\(login.stderr)")
        // An unreachable proxy.
        let closed = try freePort()
        try expectFailure(
            ["--ca-file", registry.caFile],
            environment: ["HTTPS_PROXY": "http://127.0.0.1:\(closed)"],
            saying: "through proxy http://127.0.0.1:\(closed)"
        )

        // Through a real forward proxy (tinyproxy, HTTPS via CONNECT) it works.
        let proxy = try TinyProxy()
        defer { proxy.stop() }
        let through = try Harness.airlock(
            ["pack", "-q", "--ca-file", registry.caFile, "--output", "json"],
            in: root,
            environment: docker.merging(["HTTPS_PROXY": "http://\(proxy.address)"]) { _, new in new }
        )
        #expect(through.status == 0, "through tinyproxy: \(through.stderr)")
        #expect(proxy.log().contains("CONNECT"), "the proxy carried the traffic")
        // Over TLS with basic auth, through the proxy, every digest is the registry's own.
        let pulled = ((try JSONSerialization.jsonObject(with: through.data) as? [String: Any])?["images"] as? [[String: Any]]) ?? []
        let digests = Dictionary(
            pulled.map { ($0["name"] as? String ?? "", $0["digest"] as? String ?? "") },
            uniquingKeysWith: { a, _ in a }
        )
        #expect(digests["\(registry.host)/src/app:oci"] == (try rawDigest(registry, "src/app:oci")))
        #expect(digests["registry.example.com/team/app-v2s2:1"] == (try rawDigest(registry, "src/app:v2s2")))
        #expect(digests["\(registry.host)/src/multi:1.4.2"] == (try rawDigest(registry, "src/multi:1.4.2")))
        try FileManager.default.removeItem(atPath: "\(root)/pulled-1.tar.zst")
        // Directly, over TLS with basic auth (the big layers over connections of their own), with
        // an empty cache so that every blob comes over the network again.
        let direct = try Harness.airlock(
            ["pack", "-q", "--ca-file", registry.caFile],
            in: root,
            environment: docker.merging(["AIRLOCK_CACHE": "\(root)/direct-cache"]) { _, new in new }
        )
        #expect(direct.status == 0, "direct: \(direct.stderr)")
        let directVerify = try Harness.airlock(["verify", "pulled-1.tar.zst", "--allow-unsigned"], in: root)
        #expect(directVerify.status == 0, "\(directVerify.stderr)")
        try FileManager.default.removeItem(atPath: "\(root)/pulled-1.tar.zst")

        // A missing tag.
        try spec(registry.host).replacingOccurrences(of: "src/app:oci", with: "src/app:nope").write(
            toFile: "\(root)/airlock.yaml",
            atomically: true,
            encoding: .utf8
        )
        try expectFailure(["--ca-file", registry.caFile], saying: "src/app:nope")
    }

    @Test func classicChartRepositoriesOverHTTPSWithTheirDigestChecked() throws {
        let root = try Harness.temporaryDirectory()
        let example = try Harness.makeExample(in: root, dockerArchive: false)
        // A static HTTPS chart repository: index.yaml + the packaged chart, with a test CA.
        let site = "\(root)/site"
        try FileManager.default.createDirectory(atPath: site, withIntermediateDirectories: true)
        #expect(try Harness.run(["tar", "-czf", "\(site)/platform-1.4.2.tgz", "-C", "\(example)/charts", "platform"]).status == 0)
        let digest = try Harness.sha256(ofFile: "\(site)/platform-1.4.2.tgz")
        let index = """
            apiVersion: v1
            entries:
              platform:
                - {apiVersion: v2, name: platform, version: 1.4.2, digest: \(digest), urls: [platform-1.4.2.tgz]}
                - {apiVersion: v2, name: platform, version: 1.4.1, digest: \(String(repeating: "0", count: 64)), urls: [platform-1.4.2.tgz]}
            """
        try index.write(toFile: "\(site)/index.yaml", atomically: true, encoding: .utf8)
        let ca = try TestCA(root: root, name: "charts CA")
        let server = try PythonServer.staticSite(site, certificate: try ca.issue("server"))
        defer { server.stop() }
        let port = server.port

        func spec(_ version: String) throws {
            try """
            apiVersion: airlock/v1
            kind: Bundle
            metadata: {name: charts, version: "1", created: "2026-11-01T00:00:00Z"}
            charts:
              - repo: https://127.0.0.1:\(port)/
                name: platform
                version: \(version)
            """.write(toFile: "\(root)/airlock.yaml", atomically: true, encoding: .utf8)
        }
        try spec("1.4.2")
        let pack = try Harness.airlock(
            ["pack", "-q", "--ca-file", "\(root)/ca.pem", "--output", "json"],
            in: root,
            environment: ["HTTPS_PROXY": "", "https_proxy": ""]
        )
        try #require(pack.status == 0, "\(pack.stderr)")
        let chart = try #require((try JSONSerialization.jsonObject(with: pack.data) as? [String: Any])?["charts"] as? [[String: Any]])
        #expect(chart.first?["chartDigest"] as? String == "sha256:\(digest)", "the chart is carried byte for byte")
        try FileManager.default.removeItem(atPath: "\(root)/charts-1.tar.zst")

        for (version, status, message) in [("1.4.1", Int32(1), "does not match the digest"), ("9.9.9", Int32(2), "no version 9.9.9")] {
            try spec(version)
            let bad = try Harness.airlock(
                ["pack", "-q", "--ca-file", "\(root)/ca.pem"],
                in: root,
                environment: ["HTTPS_PROXY": "", "https_proxy": ""]
            )
            #expect(bad.status == status && bad.stderr.contains(message), "\(version): \(bad.stderr)")
            #expect(!FileManager.default.fileExists(atPath: "\(root)/charts-1.tar.zst"))
        }
        try spec("1.4.2")
        let untrusted = try Harness.airlock(["pack", "-q"], in: root, environment: ["HTTPS_PROXY": "", "https_proxy": ""])
        #expect(untrusted.status == 3 && untrusted.stderr.contains("--ca-file"), "\(untrusted.stderr)")
    }

    /// What a stand-in registry recorded (a JSON document at `url`).
    func standInRecord(_ url: String) throws -> Any {
        let answer = try Harness.run([
            "python3", "-c", "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())", url,
        ])
        try #require(answer.status == 0, "\(url): \(answer.stderr)")
        return try JSONSerialization.jsonObject(with: Data(answer.stdout.utf8))
    }
}

/// Debian's tinyproxy as a real forward proxy on a free loopback port.
final class TinyProxy: @unchecked Sendable {
    // @unchecked: used only by the test that owns it.
    let root: String
    let port: Int
    private let process: Process
    var address: String { "127.0.0.1:\(port)" }

    /// `basicAuth`: the proxy demands these credentials (407 otherwise).
    init(basicAuth: (user: String, password: String)? = nil) throws {
        root = try Harness.temporaryDirectory("tinyproxy")
        port = try freePort()
        var config = """
            Port \(port)
            Listen 127.0.0.1
            Timeout 60
            LogFile "\(root)/tinyproxy.log"
            LogLevel Connect
            MaxClients 20
            Allow 127.0.0.1
            """
        if let basicAuth { config += "\nBasicAuth \(basicAuth.user) \(basicAuth.password)\n" }
        try config.write(toFile: "\(root)/tinyproxy.conf", atomically: true, encoding: .utf8)
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["tinyproxy", "-d", "-c", "\(root)/tinyproxy.conf"]
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        for _ in 0..<200 { if canConnect(port: port) { break }; usleep(25_000) }
    }

    func log() -> String { (try? String(contentsOfFile: "\(root)/tinyproxy.log", encoding: .utf8)) ?? "" }

    func stop() {
        // tinyproxy waits for its connections on SIGTERM; the test is done with it.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: root)
    }
}
