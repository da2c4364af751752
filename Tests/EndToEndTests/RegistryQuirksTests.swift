import Foundation
import TestSupport
import Testing

/// The registries customers run, where no real one can run here: each test puts
/// `Tests/Fixtures/hostile-registry.py` in front of the real docker-registry, in a mode that
/// reproduces one behaviour reported by that registry's users or handled in the mature clients'
/// code (the fixture's header names the sources), and asserts what the user sees: the push or
/// pack finishes with the right content (read back with skopeo from the registry behind), or fails
/// in one line with nothing tagged. No output ever holds a password.
@Suite(.removesTemporaryFolders, .needs(.dockerRegistry, .skopeo, .python3, .zstd))
struct RegistryQuirksTests {
    static let username = "robot$ci"
    static let password = "s3cret-quirk-pass"

    /// docker-registry behind the hostile proxy, with a docker config holding the proxy's
    /// credentials when it demands some.
    final class Setup: @unchecked Sendable {
        // @unchecked: owned by one test.
        let registry: TestRegistry
        let proxy: PythonServer
        let root: String
        let log: String
        let packed: PackedExample

        var host: String { "127.0.0.1:\(proxy.port)" }
        var environment: [String: String] {
            ["DOCKER_CONFIG": "\(root)/docker", "HTTPS_PROXY": "", "https_proxy": "", "HTTP_PROXY": "", "http_proxy": ""]
        }

        init(_ modes: [String], credentials: Bool = false, layerMB: Int = 0, tls: (certificate: String, key: String)? = nil) throws {
            registry = try TestRegistry(tls: false)
            root = try Harness.temporaryDirectory("quirks")
            log = "\(root)/proxy.log"
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            var arguments = ["http://\(registry.host)", log] + modes
            if credentials { arguments.append("basic=\(RegistryQuirksTests.username):\(RegistryQuirksTests.password)") }
            if let tls { arguments += ["--tls", tls.certificate, tls.key] }
            proxy = try PythonServer(fixture: "hostile-registry.py", arguments: arguments)
            packed = try PackedExample.make(layerMB: layerMB)
            try FileManager.default.createDirectory(atPath: "\(root)/docker", withIntermediateDirectories: true)
            let auth = Data("\(RegistryQuirksTests.username):\(RegistryQuirksTests.password)".utf8).base64EncodedString()
            let config = credentials ? #"{"auths": {"\#(host)": {"auth": "\#(auth)"}}}"# : #"{"auths": {}}"#
            try config.write(toFile: "\(root)/docker/config.json", atomically: true, encoding: .utf8)
        }

        func push(_ extra: [String] = [], prefix: String = "mirror", plain: Bool = true) throws -> Harness.Output {
            try Harness.airlock(
                [
                    "push", packed.bundle, "--registry", "\(host)/\(prefix)", "--key", "signer.pub", "--config-dir", "\(root)/cfg",
                    "-q", "--output", "json",
                ] + (plain ? ["--plain-http", host] : []) + extra,
                in: packed.example,
                environment: environment
            )
        }

        /// The proxy's log: one entry per request.
        func requests() throws -> [[String: Any]] {
            try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").compactMap {
                try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
        }

        /// Reads an image back from the registry behind the proxy.
        func digest(of reference: String) throws -> String? {
            let raw = try Harness.run(["skopeo", "inspect", "--raw", "--tls-verify=false", "docker://\(registry.host)/\(reference)"])
            guard raw.status == 0 else { return nil }
            return "sha256:" + String(try Harness.run(["sha256sum"], stdin: raw.data).stdout.prefix(64))
        }

        /// An airlock.yaml in the set-up's folder pulling `refs`.
        func writeSpec(name: String, refs: [String]) throws {
            let images = refs.map { "  - ref: \($0)\n" }.joined()
            try """
            apiVersion: airlock/v1\nkind: Bundle\nmetadata: {name: \(name), version: \"1\", created: \
            \"2026-11-01T00:00:00Z\"}\nimages:\n\(images)
            """
            .write(toFile: "\(root)/airlock.yaml", atomically: true, encoding: .utf8)
        }

        func stop() {
            proxy.stop()
            registry.stop()
            packed.remove()
            try? FileManager.default.removeItem(atPath: root)
        }
    }

    /// Every image of the push arrived with its digest (read back from the registry behind).
    func expectPushed(_ push: Harness.Output, _ setup: Setup, prefix: String = "mirror") throws {
        try #require(push.status == 0, "push: \(push.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: push.data) as? [String: Any])
        let images = try #require(report["images"] as? [[String: String]])
        #expect(images.count == 4)
        for image in images {
            let target = try #require(image["target"]).replacingOccurrences(of: "\(setup.host)/", with: "")
            #expect(try setup.digest(of: target) == image["digest"], "\(target) read back")
        }
        expectNoSecret(push)
    }

    func expectNoSecret(_ output: Harness.Output) {
        #expect(!output.stdout.contains(Self.password) && !output.stderr.contains(Self.password), "no password in any output")
    }

    @Test func answersLikeDockerHubBehindItsCDNWhenNoUserAgentIsSent() throws {
        let setup = try Setup(["ua403"], layerMB: 2)
        defer { setup.stop() }
        try expectPushed(try setup.push(), setup)
        // Pulled back through the proxy, big layers over their own connections included.
        try setup.writeSpec(name: "back", refs: ["\(setup.host)/mirror/team/app:1.4.2"])
        let pack = try Harness.airlock(["pack", "-q", "--plain-http", setup.host], in: setup.root, environment: setup.environment)
        #expect(pack.status == 0, "pack through a registry that refuses requests without a User-Agent: \(pack.stderr)")
        let agents = Set(try setup.requests().compactMap { $0["userAgent"] as? String })
        #expect(!agents.isEmpty && agents.allSatisfy { $0.hasPrefix("airlock/") }, "\(agents)")
    }

    @Test(arguments: [["anon404"], ["bare401"], ["negotiateFirst"]])
    func credentialsReachARegistryThatHidesBehind404Or401WithoutAChallenge(_ modes: [String]) throws {
        // anon404: Nexus with anonymous access on answers anonymous requests for private content
        // with 404; bare401: gcr.io-style 401 without WWW-Authenticate; negotiateFirst: an SPNEGO
        // proxy offering Negotiate before Basic.
        let setup = try Setup(modes, credentials: true)
        defer { setup.stop() }
        try expectPushed(try setup.push(), setup)
        let anonymous = try setup.requests().filter { !($0["authorization"] as? Bool ?? false) }
        #expect(anonymous.allSatisfy { $0["path"] as? String == "/v2/" }, "only the ping goes without credentials: \(anonymous)")
    }

    @Test func anExistingTagIsRecognisedWhenTheRegistryAnswersHeadWithoutADigest() throws {
        let setup = try Setup(["noDigestHeader"])
        defer { setup.stop() }
        try expectPushed(try setup.push(), setup)
        let before = try setup.requests().count
        let again = try setup.push()
        try #require(again.status == 0, "\(again.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: again.data) as? [String: Any])
        #expect(report["manifestsPushed"] as? Int == 0, "immutable tags would refuse a second PUT")
        #expect(!(try setup.requests().dropFirst(before)).contains { $0["method"] as? String == "PUT" })
    }

}

extension RegistryQuirksTests {
    /// An SBOM listed by a source registry's OCI 1.1 referrers API (the stand-in
    /// Tests/Fixtures/referrers-registry.py: no registry installable here has the API), pushed
    /// into docker-registry 2.8, which has none: the sha256-<hex> referrers tag is written, so
    /// skopeo lists it, and a pack from that registry with referrers: true finds the same SBOM.
    /// Then a registry that refuses artifacts: the image lands, the SBOM is reported, exit 1.
    @Test func referrersTravelThroughARegistryWithoutTheReferrersAPI() throws {
        let root = try Harness.temporaryDirectory("quirks-referrers")
        let example = try Harness.makeExample(in: root, dockerArchive: false)
        let (source, sourceHost) = try PythonServer.exampleRegistry(
            example: example,
            root: root,
            bundleName: "sbom",
            image: "referrers: true"
        )
        defer { source.stop() }
        let pack = try Harness.airlock(["pack", "-q", "--plain-http", sourceHost, "--output", "json"], in: root)
        try #require(pack.status == 0, "\(pack.stderr)")
        let packed = try #require(
            ((try JSONSerialization.jsonObject(with: pack.data) as? [String: Any])?["images"] as? [[String: Any]])?.first
        )
        let sbom = try #require((packed["referrers"] as? [[String: Any]])?.first { $0["via"] as? String == "referrers-api" })
        let subject = try #require(sbom["subject"] as? String)
        let sbomDigest = try #require(sbom["digest"] as? String)

        let registry = try TestRegistry(tls: false)
        defer { registry.stop() }
        let push = try Harness.airlock(
            [
                "push", "sbom-1.tar.zst", "--allow-unsigned", "--registry", "\(registry.host)/mirror", "--plain-http",
                registry.host, "-q", "--config-dir", "cfg",
            ],
            in: root
        )
        try #require(push.status == 0, "\(push.stderr)")
        let tag = "sha256-\(subject.dropFirst("sha256:".count))"
        let tags = try Harness.run(["skopeo", "list-tags", "--tls-verify=false", "docker://\(registry.host)/mirror/src/app"])
        #expect(tags.stdout.contains(tag), "skopeo lists the referrers tag: \(tags.stdout)")
        let index = try Harness.run(["skopeo", "inspect", "--raw", "--tls-verify=false", "docker://\(registry.host)/mirror/src/app:\(tag)"])
        let listed = try #require(try JSONSerialization.jsonObject(with: index.data) as? [String: Any])
        let entries = (listed["manifests"] as? [[String: Any]]) ?? []
        #expect(
            entries.contains { $0["digest"] as? String == sbomDigest && $0["artifactType"] as? String == "application/spdx+json" },
            "\(listed)"
        )

        // Round trip: packed again from the registry that has no referrers API.
        try FileManager.default.createDirectory(atPath: "\(root)/again", withIntermediateDirectories: true)
        try """
        apiVersion: airlock/v1
        kind: Bundle
        metadata: {name: again, version: "1", created: "2026-11-01T00:00:00Z"}
        images:
          - ref: \(registry.host)/mirror/src/app:app-1.4.2
            referrers: true
        """.write(toFile: "\(root)/again/airlock.yaml", atomically: true, encoding: .utf8)
        let again = try Harness.airlock(["pack", "-q", "--plain-http", registry.host, "--output", "json"], in: "\(root)/again")
        try #require(again.status == 0, "\(again.stderr)")
        let repacked = try #require(
            ((try JSONSerialization.jsonObject(with: again.data) as? [String: Any])?["images"] as? [[String: Any]])?.first
        )
        #expect(
            ((repacked["referrers"] as? [[String: Any]]) ?? []).contains {
                $0["digest"] as? String == sbomDigest && $0["via"] as? String == "referrers-tag"
            },
            "\(repacked["referrers"] ?? "none")"
        )

        // A registry that refuses artifacts: the image lands and is tagged, the SBOM is reported.
        let log = "\(root)/proxy.log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let proxy = try PythonServer(fixture: "hostile-registry.py", arguments: ["http://\(registry.host)", log, "rejectArtifacts"])
        defer { proxy.stop() }
        let proxyHost = "127.0.0.1:\(proxy.port)"
        let refused = try Harness.airlock(
            [
                "push", "sbom-1.tar.zst", "--allow-unsigned", "--registry", "\(proxyHost)/strict", "--plain-http",
                proxyHost, "-q", "--config-dir", "cfg2",
            ],
            in: root
        )
        #expect(refused.status == 1, "\(refused.stderr)")
        #expect(refused.stderr.contains("refused 1 artifact(s)") && refused.stderr.contains("--skip-referrers"), "\(refused.stderr)")
        #expect(
            refused.stdout.contains("REFUSED by the registry: \(proxyHost)/strict/src/app@\(sbomDigest) (application/spdx+json)"),
            "\(refused.stdout)"
        )
        let image = try Harness.run([
            "skopeo", "inspect", "--raw", "--tls-verify=false", "docker://\(registry.host)/strict/src/app:app-1.4.2",
        ])
        #expect(image.status == 0, "the image is tagged although its SBOM was refused")
        let skipped = try Harness.airlock(
            [
                "push", "sbom-1.tar.zst", "--allow-unsigned", "--registry", "\(proxyHost)/strict", "--plain-http",
                proxyHost, "-q", "--config-dir", "cfg3", "--skip-referrers",
            ],
            in: root
        )
        #expect(skipped.status == 0, "\(skipped.stderr)")
    }
}

extension RegistryQuirksTests {
    /// `HTTP_PROXY=http://user:password@proxy`: the credentials go to the proxy as
    /// Proxy-Authorization (tinyproxy with BasicAuth answers 407 otherwise), and no message ever
    /// shows them, not even when the proxy refuses them.
    @Test(.needs(.tinyproxy))
    func anAuthenticatedProxyGetsItsCredentialsAndNoMessageShowsThem() throws {
        let proxyPassword = "pr0xy-secret-9d2"
        let proxy = try TinyProxy(basicAuth: ("builder", proxyPassword))
        defer { proxy.stop() }
        let setup = try Setup([])
        defer { setup.stop() }
        try expectPushed(try setup.push(), setup)
        try setup.writeSpec(name: "proxied", refs: ["\(setup.registry.host)/mirror/team/app:1.4.2"])
        func pack(_ password: String, _ output: String) throws -> Harness.Output {
            try Harness.airlock(
                ["pack", "-q", "--plain-http", setup.registry.host, "-o", output],
                in: setup.root,
                environment: [
                    "HTTP_PROXY": "http://builder:\(password)@\(proxy.address)", "http_proxy": "",
                    "NO_PROXY": "", "no_proxy": "", "DOCKER_CONFIG": "\(setup.root)/docker",
                ]
            )
        }
        let good = try pack(proxyPassword, "good.tar.zst")
        #expect(good.status == 0, "through the authenticated proxy: \(good.stderr)")
        #expect(proxy.log().contains(setup.registry.host) || proxy.log().contains("GET"), "the pull went through the proxy: \(proxy.log())")
        let wrong = try pack("wrong-\(proxyPassword)", "bad.tar.zst")
        #expect(wrong.status == 3, "\(wrong.stderr)")
        #expect(
            !wrong.stderr.contains(proxyPassword) && !good.stderr.contains(proxyPassword),
            "no password in any message: \(wrong.stderr)"
        )
        #expect(!FileManager.default.fileExists(atPath: "\(setup.root)/bad.tar.zst"))
    }
}

extension RegistryQuirksTests {
    /// A manifest behind a CDN redirect is followed; a referrers list in pages (Harbor, zot) is read
    /// to its end (the stand-in pages two referrers one per page).
    @Test func redirectedManifestsAndPagedReferrersAreFollowed() throws {
        let setup = try Setup(["redirectManifests"])
        defer { setup.stop() }
        try expectPushed(try setup.push(), setup)
        try setup.writeSpec(name: "cdn", refs: ["\(setup.host)/mirror/team/app:1.4.2"])
        let pack = try Harness.airlock(["pack", "-q", "--plain-http", setup.host], in: setup.root, environment: setup.environment)
        #expect(pack.status == 0, "\(pack.stderr)")
        #expect(try setup.requests().contains { $0["status"] as? Int == 307 })

        let root = try Harness.temporaryDirectory("quirks-pages")
        let example = try Harness.makeExample(in: root, dockerArchive: false)
        let (source, host) = try PythonServer.exampleRegistry(
            example: example,
            root: root,
            bundleName: "paged",
            image: "referrers: true",
            misbehave: ["--page-referrers"]
        )
        defer { source.stop() }
        let paged = try Harness.airlock(["pack", "-q", "--plain-http", host, "--output", "json"], in: root)
        try #require(paged.status == 0, "\(paged.stderr)")
        let image = try #require(
            ((try JSONSerialization.jsonObject(with: paged.data) as? [String: Any])?["images"] as? [[String: Any]])?.first
        )
        let types = Set(((image["referrers"] as? [[String: Any]]) ?? []).compactMap { $0["artifactType"] as? String })
        #expect(types == ["application/spdx+json", "application/vnd.in-toto+json"], "both pages: \(types)")
    }
}

extension RegistryQuirksTests {
    /// Docker Hub counts every manifest GET against the pull allowance and no HEAD: a second pack
    /// of the same images asks with HEAD and takes the manifests from the cache, with no GET.
    @Test func aRepeatedPackSparesThePullAllowance() throws {
        let setup = try Setup([])
        defer { setup.stop() }
        try expectPushed(try setup.push(), setup)
        try setup.writeSpec(name: "allowance", refs: ["\(setup.host)/mirror/team/multi:1.4.2", "\(setup.host)/mirror/team/app:1.4.2"])
        let environment = setup.environment.merging(["AIRLOCK_CACHE": "\(setup.root)/cache"]) { $1 }
        let first = try Harness.airlock(
            ["pack", "-q", "--plain-http", setup.host, "-o", "first.tar.zst"],
            in: setup.root,
            environment: environment
        )
        try #require(first.status == 0, "\(first.stderr)")
        let before = try setup.requests().count
        let second = try Harness.airlock(
            ["pack", "-q", "--plain-http", setup.host, "-o", "second.tar.zst"],
            in: setup.root,
            environment: environment
        )
        try #require(second.status == 0, "\(second.stderr)")
        let requests = try setup.requests().dropFirst(before)
        #expect(
            !requests.contains { $0["method"] as? String == "GET" && ($0["path"] as? String ?? "").contains("/manifests/") },
            "no manifest GET: \(requests.map { "\($0["method"] ?? "") \($0["path"] ?? "")" })"
        )
        #expect(requests.contains { $0["method"] as? String == "HEAD" && ($0["path"] as? String ?? "").contains("/manifests/1.4.2") })
        let sums = try ["first", "second"].map { try Harness.sha256(ofFile: "\(setup.root)/\($0).tar.zst") }
        #expect(sums[0] == sums[1], "the same bundle, byte for byte")
    }
}

extension RegistryQuirksTests {
    /// A link that breaks every 1.2 MiB: a 8.5 MiB layer needs eight attempts, more than the five a
    /// stalled transfer gets; each resumes with Range where the last stopped, and the pack finishes.
    @Test func aDownloadThatKeepsBreakingIsResumedWhileItMakesProgress() throws {
        let setup = try Setup(["cutDownloads=1258291"], layerMB: 16)
        defer { setup.stop() }
        let direct = try Harness.airlock(
            [
                "push", setup.packed.bundle, "--registry", "\(setup.registry.host)/mirror", "--key", "signer.pub",
                "--config-dir", "\(setup.root)/cfg", "-q", "--plain-http", setup.registry.host,
            ],
            in: setup.packed.example,
            environment: setup.environment
        )
        try #require(direct.status == 0, "\(direct.stderr)")
        try setup.writeSpec(name: "flaky", refs: ["\(setup.host)/mirror/team/app:1.4.2"])
        let pack = try Harness.airlock(["pack", "-q", "--plain-http", setup.host], in: setup.root, environment: setup.environment)
        #expect(pack.status == 0, "\(pack.stderr)")
        let cuts = try setup.requests().filter { $0["status"] as? String == "cut" }
        let perBlob = Dictionary(grouping: cuts) { $0["path"] as? String ?? "" }.mapValues(\.count)
        #expect((perBlob.values.max() ?? 0) >= 5, "the big layer broke off at least five times: \(perBlob)")
        #expect(try Harness.airlock(["verify", "flaky-1.tar.zst", "--allow-unsigned"], in: setup.root).status == 0)
    }
}
