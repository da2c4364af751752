import Foundation
import TestSupport
import Testing

/// Charts rendered by airlock's own Helm engine, checked against real Helm v4 (helm-python-sdk,
/// installed by scripts/setup into .venv) on the published charts of ../shared/fixtures: the same
/// documents (parsed YAML equal, masking only what differs between two renders by Helm itself:
/// random strings, generated certificates and checksums over them) and exactly the same images.
@Suite(.removesTemporaryFolders, .enabled(if: ChartOracle.available))
struct ChartRenderingTests {
    static let fixtures = "\(Harness.packageRoot)/../shared/fixtures/charts"
    static let python = "\(Harness.packageRoot)/.venv/bin/python"
    static let oracle = "\(Harness.packageRoot)/Tests/Fixtures/helm-oracle.py"
    static let values = "\(Harness.packageRoot)/Tests/Fixtures/chart-values"
    static let umbrella = "\(Harness.packageRoot)/Tests/Fixtures/charts/umbrella"

    /// Every fixture chart with its default values, and with values the test supplies (turning
    /// on metrics, subcharts, HA modes, global registries...); opentelemetry-collector renders
    /// only with values, so two of its own ci/ files are used.
    static let cases: [(chart: String, values: String?)] = [
        ("argo-cd-10.1.1.tgz", nil), ("argo-cd-10.1.1.tgz", "argo.yaml"),
        ("ingress-nginx", nil),
        ("kafka-32.4.4.tgz", nil), ("kafka-32.4.4.tgz", "kafka.yaml"),
        ("keda-2.20.2.tgz", nil), ("keda-2.20.2.tgz", "keda.yaml"),
        ("keycloak-25.4.0.tgz", nil), ("keycloak-25.4.0.tgz", "keycloak.yaml"),
        ("kube-prometheus-stack-88.5.3.tgz", nil), ("kube-prometheus-stack-88.5.3.tgz", "kps.yaml"),
        ("kube-state-metrics-8.4.0.tgz", nil),
        ("minio-17.0.23.tgz", nil), ("minio-17.0.23.tgz", "minio.yaml"),
        ("mongodb-17.0.2.tgz", nil), ("mongodb-17.0.2.tgz", "mongo.yaml"),
        ("opentelemetry-collector-0.170.0.tgz", "otel-deployment.yaml"), ("opentelemetry-collector-0.170.0.tgz", "otel-daemonset.yaml"),
        ("prometheus-29.27.0.tgz", nil), ("prometheus-29.27.0.tgz", "prom.yaml"),
        ("prometheus-node-exporter-4.56.1.tgz", nil),
        ("rabbitmq-16.0.16.tgz", nil), ("rabbitmq-16.0.16.tgz", "rabbit.yaml"),
        ("traefik-41.3.0.tgz", nil), ("traefik-41.3.0.tgz", "traefik.yaml"),
        ("vault-0.34.1.tgz", nil), ("vault-0.34.1.tgz", "vault.yaml"),
    ]

    struct Comparison {
        var differences: Int
        var report: String
        var helmImages: Set<String>
        var airlockImages: Set<String>
        var templateMismatch: Bool
    }

    /// Renders with airlock and compares with Helm through the oracle script.
    static func compare(chart: String, values: String?, in root: String) throws -> Comparison {
        let valuesArguments = values.map { ["-f", $0] } ?? []
        let rendered = try Harness.airlock(["chart", "render", chart, "--output", "json"] + valuesArguments, in: root)
        try #require(rendered.status == 0, "airlock chart render \(chart): \(rendered.stderr)")
        let ours = "\(root)/ours-\(UUID().uuidString.prefix(6)).json"
        try rendered.data.write(to: URL(fileURLWithPath: ours))
        let oracle = try Harness.run([python, oracle, "compare", chart, ours] + (values.map { [$0] } ?? []))
        try #require(oracle.status == 0, "helm oracle: \(oracle.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: oracle.data) as? [String: Any])
        return Comparison(
            differences: report["differenceCount"] as? Int ?? -1,
            report: oracle.stdout,
            helmImages: Set(report["helmImages"] as? [String] ?? []),
            airlockImages: Set(report["airlockImages"] as? [String] ?? []),
            templateMismatch: !((report["missingTemplates"] as? [String]) ?? []).isEmpty
                || !((report["extraTemplates"] as? [String]) ?? []).isEmpty
        )
    }

    /// The images `airlock chart images` lists (what pack checks against the bundle).
    static func listedImages(chart: String, values: [String], in root: String) throws -> Set<String> {
        let listed = try Harness.airlock(["chart", "images", chart, "--output", "json"] + values.flatMap { ["-f", $0] }, in: root)
        try #require(listed.status == 0, "airlock chart images: \(listed.stderr)")
        let rows = try #require(try JSONSerialization.jsonObject(with: listed.data) as? [[String: String]])
        return Set(rows.compactMap { $0["ref"] })
    }

    @Test(arguments: cases.indices)
    func everyFixtureChartRendersAsHelmV4Does(_ index: Int) throws {
        let (name, valuesFile) = Self.cases[index]
        let root = try Harness.temporaryDirectory("chart-render")
        let chart = "\(Self.fixtures)/\(name)"
        var values: String?
        if let valuesFile, valuesFile.hasPrefix("otel-") {
            // The chart's own CI values, as shipped inside its archive.
            #expect(try Harness.run(["tar", "-xzf", chart, "-C", root]).status == 0)
            values = "\(root)/opentelemetry-collector/ci/\(valuesFile.dropFirst("otel-".count).dropLast(".yaml".count))-values.yaml"
        } else if let valuesFile {
            values = "\(Self.values)/\(valuesFile)"
        }
        let comparison = try Self.compare(chart: chart, values: values, in: root)
        #expect(comparison.differences == 0 && !comparison.templateMismatch, "\(name) \(valuesFile ?? "defaults"): \(comparison.report)")
        #expect(!comparison.helmImages.isEmpty)
        #expect(comparison.airlockImages == comparison.helmImages, "images of \(name) \(valuesFile ?? "defaults")")
        #expect(
            try Self.listedImages(chart: chart, values: values.map { [$0] } ?? [], in: root) == comparison.helmImages,
            "airlock chart images lists exactly what Helm renders"
        )
    }

    @Test func switchingASubchartOffRemovesExactlyItsImages() throws {
        let root = try Harness.temporaryDirectory("chart-render")
        let fixtures = "\(Harness.packageRoot)/Tests/Fixtures/charts"
        let all = try Self.listedImages(chart: Self.umbrella, values: [], in: root)
        let databaseOff = try Self.listedImages(chart: Self.umbrella, values: ["\(fixtures)/umbrella-db-off.yaml"], in: root)
        let extrasOff = try Self.listedImages(chart: Self.umbrella, values: ["\(fixtures)/umbrella-extras-off.yaml"], in: root)
        #expect(all == ["reg.example/bitnami/postgresql:9.1", "docker.io/library/busybox:1.36", "reg.example/tools/other:2.1.0"])
        #expect(
            all.subtracting(databaseOff) == ["reg.example/bitnami/postgresql:9.1"],
            "condition db.enabled=false drops the aliased subchart"
        )
        #expect(databaseOff.isSubset(of: all))
        #expect(
            all.subtracting(extrasOff) == ["docker.io/library/busybox:1.36", "reg.example/tools/other:2.1.0"],
            "tags.extras=false drops other"
        )
        #expect(extrasOff.isSubset(of: all))
        for values in [nil, "\(fixtures)/umbrella-db-off.yaml", "\(fixtures)/umbrella-extras-off.yaml"] {
            let comparison = try Self.compare(chart: Self.umbrella, values: values, in: root)
            #expect(comparison.differences == 0 && !comparison.templateMismatch, "\(comparison.report)")
            #expect(comparison.airlockImages == comparison.helmImages)
        }
    }

    @Test func aTemplateErrorNamesTheChartTheFileAndTheLine() throws {
        let root = try Harness.temporaryDirectory("chart-render")
        try FileManager.default.createDirectory(atPath: "\(root)/c/templates", withIntermediateDirectories: true)
        try "apiVersion: v2\nname: c\nversion: 1.0.0\n".write(toFile: "\(root)/c/Chart.yaml", atomically: true, encoding: .utf8)
        try "a: 1\nb:\n  {{ nosuch .Values.a }}\n".write(toFile: "\(root)/c/templates/cm.yaml", atomically: true, encoding: .utf8)
        let unknown = try Harness.airlock(["chart", "render", "c"], in: root)
        #expect(
            unknown.status == 2
                && unknown.stderr.contains("chart c: parse error at (c/templates/cm.yaml:3): function \"nosuch\" not defined"),
            "\(unknown.stderr)"
        )
        try "a: 1\n{{ required \"set image.tag\" .Values.image }}\n".write(
            toFile: "\(root)/c/templates/cm.yaml",
            atomically: true,
            encoding: .utf8
        )
        let required = try Harness.airlock(["chart", "render", "c"], in: root)
        #expect(
            required.status == 2 && required.stderr.contains("chart c: execution error at (c/templates/cm.yaml:2:3): set image.tag"),
            "\(required.stderr)"
        )
        #expect(required.stderr.split(separator: "\n").count == 1, "one line")
        let given = try Harness.airlock(["chart", "render", "c", "--set", "image=x"], in: root)
        #expect(given.status == 0 && given.stdout.contains("\nx\n"), "\(given.stdout) \(given.stderr)")
    }

    /// Every fixture chart packs in a network namespace with no route: a `.tgz` as `helm pull`
    /// gives it, and the same chart unpacked into a folder (its dependencies vendored as folders
    /// under charts/, with repository: lines that must not be followed).
    @Test(.needs(.unshare, .tar))
    func everyFixtureChartPacksWithNoNetwork() throws {
        let root = try Harness.temporaryDirectory("chart-offline")
        let archives = try FileManager.default.contentsOfDirectory(atPath: Self.fixtures).filter { $0.hasSuffix(".tgz") }.sorted()
        try #require(archives.count >= 14)
        var tgz =
            "apiVersion: airlock/v1\nkind: Bundle\nmetadata: {name: archives, version: \"1\", created: \"2026-11-01T00:00:00Z\"}\ncharts:\n"
        var folders =
            "apiVersion: airlock/v1\nkind: Bundle\nmetadata: {name: folders, version: \"1\", created: \"2026-11-01T00:00:00Z\"}\ncharts:\n"
        tgz += "  - path: \(Self.fixtures)/ingress-nginx\n"
        for archive in archives {
            #expect(try Harness.run(["tar", "-xzf", "\(Self.fixtures)/\(archive)", "-C", root]).status == 0)
            let folder = String(archive.dropLast(".tgz".count).split(separator: "-").dropLast().joined(separator: "-"))
            let values = folder == "opentelemetry-collector" ? "\n    values: [./opentelemetry-collector/ci/deployment-values.yaml]" : ""
            tgz += "  - path: \(Self.fixtures)/\(archive)\(values)\n"
            folders += "  - path: ./\(folder)\(values)\n"
        }
        try tgz.write(toFile: "\(root)/archives.yaml", atomically: true, encoding: .utf8)
        try folders.write(toFile: "\(root)/folders.yaml", atomically: true, encoding: .utf8)
        for spec in ["archives", "folders"] {
            let pack = try Harness.run(
                ["unshare", "-n", Harness.airlock, "pack", "-q", "-f", "\(spec).yaml", "--output", "json"],
                in: root,
                environment: ["AIRLOCK_CACHE": "\(root)/.cache"]
            )
            try #require(pack.status == 0, "\(spec) offline: \(pack.stderr)")
            let result = try #require(try JSONSerialization.jsonObject(with: pack.data) as? [String: Any])
            let charts = try #require(result["charts"] as? [[String: Any]])
            #expect(charts.count == archives.count + (spec == "archives" ? 1 : 0))
            for chart in charts {
                let images = (chart["images"] as? [[String: Any]]) ?? []
                #expect(images.contains { $0["found"] as? String == "rendered" }, "\(chart["name"] ?? "?") renders images")
                #expect(chart["rendered"] != nil)
            }
            let kps = try #require(charts.first { $0["name"] as? String == "kube-prometheus-stack" })
            let rendered = Set(
                ((kps["images"] as? [[String: Any]]) ?? []).filter { $0["found"] as? String == "rendered" }.compactMap {
                    $0["ref"] as? String
                }
            )
            #expect(rendered == (try Self.listedImages(chart: "\(Self.fixtures)/kube-prometheus-stack-88.5.3.tgz", values: [], in: root)))
        }
    }
}

/// Whether real Helm (through .venv) and the fixture charts are here; in CI they must be.
enum ChartOracle {
    static var available: Bool {
        Harness.isCI
            || (FileManager.default.isExecutableFile(atPath: ChartRenderingTests.python)
                && FileManager.default.fileExists(atPath: ChartRenderingTests.fixtures))
    }
}

extension ChartRenderingTests {
    /// Dependencies already in charts/ are packed as they are (never fetched, never packaged
    /// twice); one outside its declared range is a warning, and an error with --strict.
    @Test func vendoredDependenciesArePackedAsTheyAre() throws {
        let root = try Harness.temporaryDirectory("chart-vendored")
        #expect(try Harness.run(["cp", "-r", Self.umbrella, "\(root)/umbrella"]).status == 0)
        try """
        apiVersion: airlock/v1
        kind: Bundle
        metadata: {name: vendored, version: "1", created: "2026-11-01T00:00:00Z"}
        charts:
          - path: ./umbrella
        """.write(toFile: "\(root)/airlock.yaml", atomically: true, encoding: .utf8)
        // `repository: https://example.invalid/charts` is never asked: nothing resolves that name.
        let pack = try Harness.airlock(["pack", "--output", "json"], in: root)
        try #require(pack.status == 0, "\(pack.stderr)")
        #expect(!pack.stderr.contains("vendored in charts/") && !pack.stderr.contains("Chart.lock"), "\(pack.stderr)")
        let result = try #require(try JSONSerialization.jsonObject(with: pack.data) as? [String: Any])
        let chartDigest = try #require(((result["charts"] as? [[String: Any]])?.first?["chartDigest"] as? String)?.dropFirst(7))
        let extract = try Harness.airlock(
            ["extract", "vendored-1.tar.zst", "oci/blobs/sha256/\(chartDigest)", "-o", "chart.tgz", "--allow-unsigned"],
            in: root
        )
        try #require(extract.status == 0, "\(extract.stderr)")
        let listing = try Harness.run(["tar", "-tzf", "\(root)/chart.tgz"]).stdout.split(separator: "\n")
        #expect(
            listing.filter { $0.hasPrefix("umb/charts/") }.sorted() == [
                "umb/charts/other/Chart.yaml", "umb/charts/other/templates/job.yaml",
                "umb/charts/sub/Chart.yaml", "umb/charts/sub/templates/pod.yaml", "umb/charts/sub/values.yaml",
            ],
            "file://charts/other is the folder already there, packaged once: \(listing)"
        )

        // The vendored sub is 1.0.3; a range it does not meet is reported, and refused under --strict.
        let chartYAML = try String(contentsOfFile: "\(root)/umbrella/Chart.yaml", encoding: .utf8)
        try chartYAML.replacingOccurrences(of: "version: \"~1.0.0\"", with: "version: \"~2.0.0\"")
            .write(toFile: "\(root)/umbrella/Chart.yaml", atomically: true, encoding: .utf8)
        let outside = try Harness.airlock(["pack", "--output", "json", "-o", "outside.tar.zst"], in: root)
        #expect(outside.status == 0)
        #expect(
            outside.stderr.contains(#""event":"warning""#)
                && outside.stderr.contains("dependency sub vendored in charts/ is version 1.0.3, outside the declared range ~2.0.0"),
            "warnings reach stderr with --output json: \(outside.stderr)"
        )
        let strict = try Harness.airlock(["pack", "-q", "--strict", "-o", "strict.tar.zst"], in: root)
        #expect(
            strict.status == 2 && strict.stderr.contains("--strict: chart umb: dependency sub vendored in charts/ is version 1.0.3"),
            "\(strict.stderr)"
        )
        #expect(!FileManager.default.fileExists(atPath: "\(root)/strict.tar.zst"))
    }
}
