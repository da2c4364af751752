import Foundation
import TestSupport
import Testing

/// An umbrella chart whose dependencies come from a classic HTTPS chart repository (the published
/// ingress-nginx chart from shared/fixtures), from OCI charts in a real docker-registry (with a
/// range constraint, an alias and a condition), and from a `file://` folder that has its own
/// dependency. Helm itself is not installable here (no Debian package), so the vendored tree is
/// checked against the layout `helm dependency build` leaves: `charts/<name>-<version>.tgz`.
@Suite(.removesTemporaryFolders, .needs(.dockerRegistry, .python3, .openssl, .tar, .zstd))
struct UmbrellaChartTests {
    static let fixture = "\(Harness.packageRoot)/../shared/fixtures/charts/ingress-nginx"
    static let controller =
        "registry.k8s.io/ingress-nginx/controller:v1.15.1@sha256:594ceea76b01c592858f803f9ff4d2cb40542cae2060410b2c95f75907d659e1"
    static let certgen =
        "registry.k8s.io/ingress-nginx/kube-webhook-certgen:v1.6.9@sha256:01038e7de14b78d702d2849c3aad72fd25903c4765af63cf16aa3398f5d5f2dd"
    static let noProxy = ["HTTPS_PROXY": "", "https_proxy": "", "HTTP_PROXY": "", "http_proxy": ""]

    /// Writes a chart folder.
    private func chart(
        _ folder: String,
        name: String,
        version: String,
        dependencies: String = "",
        values: String = "",
        templates: [String: String] = [:]
    ) throws {
        try FileManager.default.createDirectory(atPath: "\(folder)/templates", withIntermediateDirectories: true)
        try "apiVersion: v2\nname: \(name)\nversion: \(version)\nappVersion: \"2.0\"\n\(dependencies)"
            .write(toFile: "\(folder)/Chart.yaml", atomically: true, encoding: .utf8)
        try values.write(toFile: "\(folder)/values.yaml", atomically: true, encoding: .utf8)
        for (file, text) in templates { try text.write(toFile: "\(folder)/templates/\(file)", atomically: true, encoding: .utf8) }
    }

    /// The packaged ingress-nginx fixture at `version`, as a chart repository would serve it.
    private func packageFixture(version: String, into site: String, work: String) throws -> String {
        let copy = "\(work)/ingress-\(version)/ingress-nginx"
        try FileManager.default.createDirectory(atPath: "\(work)/ingress-\(version)", withIntermediateDirectories: true)
        #expect(try Harness.run(["cp", "-r", Self.fixture, copy]).status == 0)
        let chartYAML = try String(contentsOfFile: "\(copy)/Chart.yaml", encoding: .utf8)
            .replacingOccurrences(of: "\nversion: 4.15.1", with: "\nversion: \(version)")
        try chartYAML.write(toFile: "\(copy)/Chart.yaml", atomically: true, encoding: .utf8)
        let archive = "\(site)/ingress-nginx-\(version).tgz"
        #expect(try Harness.run(["tar", "-czf", archive, "-C", "\(work)/ingress-\(version)", "ingress-nginx"]).status == 0)
        return try Harness.sha256(ofFile: archive)
    }

    @Test func umbrellaChartsVendorEveryDependencyAndListTheirImages() throws {
        let root = try Harness.temporaryDirectory()
        let example = try Harness.makeExample(in: root, dockerArchive: false)

        // A classic repository over HTTPS with three versions of ingress-nginx.
        let site = "\(root)/site"
        try FileManager.default.createDirectory(atPath: site, withIntermediateDirectories: true)
        var digests: [String: String] = [:]
        for version in ["4.14.0", "4.15.1", "4.16.0"] { digests[version] = try packageFixture(version: version, into: site, work: root) }
        let index =
            "apiVersion: v1\nentries:\n  ingress-nginx:\n"
            + digests.keys.sorted().map { version in
                let digest = digests[version] ?? "?"
                let url = "ingress-nginx-\(version).tgz"
                return "    - {apiVersion: v2, name: ingress-nginx, version: \(version), digest: \(digest), urls: [\(url)]}\n"
            }.joined()
        try index.write(toFile: "\(site)/index.yaml", atomically: true, encoding: .utf8)
        let ca = try TestCA(root: root, name: "charts CA")
        let server = try PythonServer.staticSite(site, certificate: try ca.issue("charts"))
        defer { server.stop() }
        let repository = "https://127.0.0.1:\(server.port)/"

        // Two versions of a backend chart as Helm OCI artifacts in a real registry.
        let registry = try TestRegistry(tls: false)
        defer { registry.stop() }
        let backendValues = "image:\n  repository: registry.example.com/team/backend\n  tag: \"\"\n"
        let job =
            """
            apiVersion: batch/v1\nkind: Job\nspec:\n  template:\n    spec:\n      containers:\n        - name: migrate\n          \
            image: busybox:1.36\n
            """
        for version in ["0.2.0", "0.3.0"] {
            try chart(
                "\(root)/src/backend-\(version)",
                name: "backend",
                version: version,
                values: backendValues,
                templates: ["job.yaml": job]
            )
        }
        try """
        apiVersion: airlock/v1
        kind: Bundle
        metadata: {name: seed, version: "1"}
        charts: [{path: ./backend-0.2.0}, {path: ./backend-0.3.0}]
        """.write(toFile: "\(root)/src/airlock.yaml", atomically: true, encoding: .utf8)
        #expect(try Harness.airlock(["pack", "-q"], in: "\(root)/src").status == 0)
        let seeded = try Harness.airlock(
            [
                "push", "seed-1.tar.zst", "--allow-unsigned", "--registry", "\(registry.host)/src", "--plain-http",
                registry.host, "-q", "--config-dir", "cfg",
            ],
            in: "\(root)/src"
        )
        try #require(seeded.status == 0, "seed: \(seeded.stderr)")

        // The umbrella: ingress-nginx (range, condition), backend as "api" (range, off by default),
        // and common from a folder, which itself needs backend ^0.2.0.
        let oci = "oci://\(registry.host)/src/charts"
        func umbrellaDependencies(ingress: String = "~4.15.0", ingressRepository: String? = nil, extra: String = "") -> String {
            """
            dependencies:
              - name: ingress-nginx
                version: "\(ingress)"
                repository: \(ingressRepository ?? repository)
                condition: ingress-nginx.enabled
              - name: backend
                alias: api
                version: ">=0.2.0 <1.0.0"
                repository: \(oci)
                condition: api.enabled
              - name: common
                version: 1.x
                repository: file://../common
            \(extra)
            """
        }
        let umbrella = "\(root)/build/umbrella"
        try chart(
            umbrella,
            name: "umbrella",
            version: "1.0.0",
            dependencies: umbrellaDependencies(),
            values: "api:\n  enabled: false\ningress-nginx:\n  controller:\n    replicaCount: 2\n",
            templates: ["configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n"]
        )
        try chart(
            "\(root)/build/common",
            name: "common",
            version: "1.0.0",
            dependencies: "dependencies:\n  - name: backend\n    version: ^0.2.0\n    repository: \(oci)\n"
        )
        try """
        apiVersion: airlock/v1
        kind: Bundle
        metadata: {name: umbrella, version: "1", created: "2026-11-01T00:00:00Z"}
        images:
          - layout: \(example)/build/oci
            select: app-1.4.2
            name: registry.example.com/team/backend:2.0
        charts:
          - path: ./umbrella
        """.write(toFile: "\(root)/build/airlock.yaml", atomically: true, encoding: .utf8)
        let flags = ["--ca-file", ca.certificate, "--plain-http", registry.host]
        let bundle = "\(root)/build/umbrella-1.tar.zst"

        let pack = try Harness.airlock(["pack", "--output", "json"] + flags, in: "\(root)/build", environment: Self.noProxy)
        try #require(pack.status == 0, "pack: \(pack.stderr)")
        let result = try #require(try JSONSerialization.jsonObject(with: pack.data) as? [String: Any])
        let packed = try #require((result["charts"] as? [[String: Any]])?.first)

        // The statement records the tree: name, version, source and digest of each dependency.
        let dependencies = try #require(packed["dependencies"] as? [[String: Any]])
        #expect(dependencies.map { "\($0["name"]!) \($0["version"]!)" } == ["backend 0.3.0", "common 1.0.0", "ingress-nginx 4.15.1"])
        #expect(dependencies[0]["alias"] as? String == "api" && dependencies[0]["enabledByDefault"] as? Bool == false)
        #expect(dependencies[0]["repository"] as? String == oci)
        #expect(
            dependencies[2]["digest"] as? String == "sha256:\(digests["4.15.1"]!)",
            "the repository's archive is vendored byte for byte"
        )
        #expect(dependencies[2]["repository"] as? String == repository)
        let nested = try #require(dependencies[1]["dependencies"] as? [[String: Any]])
        #expect(nested.map { "\($0["name"]!) \($0["version"]!)" } == ["backend 0.2.0"], "common's own dependency, resolved by ^0.2.0")

        // The vendored .tgz unpacks to the tree helm dependency build leaves.
        let chartDigest = try #require(packed["chartDigest"] as? String)
        let extracted = "\(root)/umbrella.tgz"
        let extract = try Harness.airlock(
            ["extract", bundle, "oci/blobs/sha256/\(chartDigest.dropFirst(7))", "-o", extracted, "--allow-unsigned"],
            in: "\(root)/build"
        )
        try #require(extract.status == 0, "extract: \(extract.stderr)")
        let listing = try Harness.run(["tar", "-tzf", extracted]).stdout.split(separator: "\n").map(String.init)
        #expect(
            listing.filter { $0.hasPrefix("umbrella/charts/") }.sorted()
                == ["umbrella/charts/backend-0.3.0.tgz", "umbrella/charts/common-1.0.0.tgz", "umbrella/charts/ingress-nginx-4.15.1.tgz"]
        )
        let unpacked = "\(root)/unpacked"
        try FileManager.default.createDirectory(atPath: unpacked, withIntermediateDirectories: true)
        #expect(try Harness.run(["tar", "-xzf", extracted, "-C", unpacked]).status == 0)
        #expect(try Harness.sha256(ofFile: "\(unpacked)/umbrella/charts/ingress-nginx-4.15.1.tgz") == digests["4.15.1"])
        let commonListing = try Harness.run(["tar", "-tzf", "\(unpacked)/umbrella/charts/common-1.0.0.tgz"]).stdout
        #expect(commonListing.contains("common/charts/backend-0.2.0.tgz"), "nested dependencies are vendored: \(commonListing)")

        // Images across the tree, as the rendered objects name them; images the values name that
        // no rendered object uses (a disabled subchart's, an unused mapping) are listed as not rendered.
        let images = try #require(packed["images"] as? [[String: Any]])
        func status(_ reference: String, in chart: String) -> String? {
            images.first { $0["ref"] as? String == reference && $0["chart"] as? String == chart }?["status"] as? String
        }
        #expect(status(Self.controller, in: "umbrella/ingress-nginx") == "missing")
        #expect(status(Self.certgen, in: "umbrella/ingress-nginx") == "missing")
        #expect(
            status("registry.example.com/team/backend:2.0", in: "umbrella/common/backend") == "not-rendered",
            "backend's values name it, but no template of backend renders it"
        )
        #expect(status("registry.example.com/team/backend:2.0", in: "umbrella/api") == "not-rendered", "api.enabled is false by default")
        #expect(status("docker.io/library/busybox:1.36", in: "umbrella/common/backend") == "missing", "the rendered job's image")
        #expect(
            !images.contains { $0["chart"] as? String == "umbrella/api" && $0["found"] as? String == "rendered" },
            "api renders nothing"
        )
        let warnings = (result["warnings"] as? [String]) ?? []
        #expect(
            warnings.contains {
                $0.hasPrefix("chart umbrella/ingress-nginx needs \(Self.controller) (templates/controller-deployment.yaml)")
            },
            "\(warnings)"
        )
        #expect(!warnings.contains { $0.contains("umbrella/api needs") }, "a disabled subchart's images are not reported missing")
        #expect(!warnings.contains { $0.contains("backend:2.0") }, "an image no template renders is not reported missing")

        // inspect shows the chart tree.
        let inspect = try Harness.airlock(["inspect", bundle], in: "\(root)/build")
        #expect(inspect.stdout.contains("└─ ingress-nginx 4.15.1 from \(repository)"), "\(inspect.stdout)")
        #expect(inspect.stdout.contains("└─ backend 0.3.0 as api from \(oci)"))
        #expect(inspect.stdout.contains("[off by default: api.enabled]"))
        #expect(inspect.stdout.contains("      └─ backend 0.2.0 from \(oci)"), "nested: \(inspect.stdout)")

        // Packing twice gives the same chart digest.
        let again = try Harness.airlock(
            ["pack", "--output", "json", "-o", "again.tar.zst"] + flags,
            in: "\(root)/build",
            environment: Self.noProxy
        )
        try #require(again.status == 0, "\(again.stderr)")
        let againChart = ((try JSONSerialization.jsonObject(with: again.data) as? [String: Any])?["charts"] as? [[String: Any]])?.first
        #expect(againChart?["chartDigest"] as? String == chartDigest)
        try FileManager.default.removeItem(atPath: bundle)

        // --strict fails on the missing images, and writes nothing.
        let strict = try Harness.airlock(["pack", "-q", "--strict"] + flags, in: "\(root)/build", environment: Self.noProxy)
        #expect(strict.status == 2 && strict.stderr.contains("--strict") && strict.stderr.contains("not in the bundle"), "\(strict.stderr)")
        #expect(!FileManager.default.fileExists(atPath: bundle))

        // A Chart.lock that agrees pins the versions; a stale one is reported and ignored.
        let lock = { (backend: String) in
            """
            dependencies:\n- {name: ingress-nginx, repository: \"\(repository)\", version: 4.15.1}\n- {name: backend, repository: \
            \"\(oci)\", version: \(backend)}\n- {name: common, repository: \"file://../common\", version: 1.0.0}\ndigest: sha256:0\n
            """
        }
        try lock("0.2.0").write(toFile: "\(umbrella)/Chart.lock", atomically: true, encoding: .utf8)
        let locked = try Harness.airlock(
            ["pack", "--output", "json", "-o", "locked.tar.zst"] + flags,
            in: "\(root)/build",
            environment: Self.noProxy
        )
        try #require(locked.status == 0, "\(locked.stderr)")
        let lockedDependencies =
            ((try JSONSerialization.jsonObject(with: locked.data) as? [String: Any])?["charts"] as? [[String: Any]])?
            .first?["dependencies"] as? [[String: Any]]
        #expect(lockedDependencies?.first?["version"] as? String == "0.2.0", "Chart.lock pins backend to 0.2.0")
        try lock("2.0.0").write(toFile: "\(umbrella)/Chart.lock", atomically: true, encoding: .utf8)
        let stale = try Harness.airlock(["pack", "-o", "stale.tar.zst"] + flags, in: "\(root)/build", environment: Self.noProxy)
        #expect(
            stale.status == 0
                && stale.stderr.contains("Chart.lock is out of date with Chart.yaml (backend 2.0.0 does not meet >=0.2.0 <1.0.0)"),
            "\(stale.stderr)"
        )
        try FileManager.default.removeItem(atPath: "\(umbrella)/Chart.lock")

        // Unresolvable dependencies: one line naming the chart, the dependency and the repository; no bundle.
        for (dependencies, message) in [
            (
                umbrellaDependencies(extra: "  - {name: nosuch, version: 1.0.0, repository: \"\(repository)\"}"),
                "chart umbrella: dependency nosuch from \(repository): the repository has no chart named nosuch"
            ),
            (
                umbrellaDependencies(ingress: "^5.0.0"),
                """
                chart umbrella: dependency ingress-nginx from \(repository): no version meets ^5.0.0 (the repository has 4.16.0, \
                4.15.1, 4.14.0)
                """
            ),
            (
                umbrellaDependencies(ingressRepository: "\"@ingress\""),
                "chart umbrella: dependency ingress-nginx from @ingress: repository aliases"
            ),
        ] {
            try chart(umbrella, name: "umbrella", version: "1.0.0", dependencies: dependencies)
            let failed = try Harness.airlock(["pack", "-q"] + flags, in: "\(root)/build", environment: Self.noProxy)
            #expect(failed.status == 2 && failed.stderr.contains(message), "\(failed.stderr)")
            #expect(failed.stderr.split(separator: "\n").count == 1, "one line: \(failed.stderr)")
            #expect(!FileManager.default.fileExists(atPath: bundle))
        }
    }

    @Test func theFixtureChartListsItsPinnedImages() throws {
        let root = try Harness.temporaryDirectory()
        try """
        apiVersion: airlock/v1
        kind: Bundle
        metadata: {name: ingress, version: "1", created: "2026-11-01T00:00:00Z"}
        charts:
          - path: \(Self.fixture)
        """.write(toFile: "\(root)/airlock.yaml", atomically: true, encoding: .utf8)
        let pack = try Harness.airlock(["pack", "-q", "--output", "json"], in: root)
        try #require(pack.status == 0, "\(pack.stderr)")
        let chart = ((try JSONSerialization.jsonObject(with: pack.data) as? [String: Any])?["charts"] as? [[String: Any]])?.first
        let images = (chart?["images"] as? [[String: Any]]) ?? []
        let byRef = Dictionary(images.map { ($0["ref"] as? String ?? "", $0) }, uniquingKeysWith: { first, _ in first })
        #expect(byRef[Self.controller]?["from"] as? String == "templates/controller-deployment.yaml")
        #expect(
            byRef[Self.certgen]?["from"] as? String
                == """
                templates/admission-webhooks/job-patch/job-createSecret.yaml, \
                templates/admission-webhooks/job-patch/job-patchWebhook.yaml
                """
        )
        #expect(
            byRef["registry.k8s.io/defaultbackend-amd64:1.5"]?["status"] as? String == "not-rendered",
            "defaultBackend.enabled is false"
        )
        #expect(images.filter { $0["status"] as? String == "missing" }.count == 2, "\(images)")
    }
}
