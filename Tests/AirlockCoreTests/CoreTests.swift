import BundleIO
import Foundation
import Testing

@testable import AirlockCore

struct EntryPathTests {
    @Test(arguments: ["oci/index.json", "files/docs/INSTALL.md", "endpoints/a.ca.pem", "a b/ü"])
    func acceptsSafePaths(path: String) throws {
        #expect(try EntryPath(path).value == path)
    }

    @Test(arguments: ["", "/etc/passwd", "../x", "a/../b", "a//b", "./a", "a/", "a\\b", "a\u{0}b", String(repeating: "a", count: 1025)])
    func refusesUnsafePaths(path: String) {
        #expect(throws: EntryPath.Problem.self) { try EntryPath(path) }
    }
}

struct HelmIgnoreTests {
    @Test func followsHelmsRules() {
        let rules = HelmIgnore(text: "# comment\n*.swp\n.git/\nsecrets/*.key\n/top.txt\n")
        #expect(rules.ignores("notes.swp", isDirectory: false))
        #expect(rules.ignores("templates/x.swp", isDirectory: false))
        #expect(rules.ignores(".git", isDirectory: true))
        #expect(!rules.ignores(".git", isDirectory: false))
        #expect(rules.ignores("secrets/a.key", isDirectory: false))
        #expect(!rules.ignores("other/a.key", isDirectory: false))
        #expect(rules.ignores("top.txt", isDirectory: false))
        #expect(rules.ignores("templates/.hidden", isDirectory: false), "Helm's default rule")
        #expect(!rules.ignores("templates/deployment.yaml", isDirectory: false))
    }
}

struct ChartPackagingTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/fixtures/charts/ingress-nginx").path

    @Test(.enabled(if: FileManager.default.fileExists(atPath: fixture) || ProcessInfo.processInfo.environment["CI"] == "true"))
    func thePublishedIngressNginxChartPackagesReproduciblyAndHonoursHelmignore() throws {
        var digests: [String] = []
        for run in 0..<2 {
            let root = NSTemporaryDirectory() + "chart-\(UUID().uuidString.prefix(8))"
            defer { try? FileManager.default.removeItem(atPath: root) }
            let store = try ContentStore(root: "\(root)/cache-\(run)")
            var contents = PackContents()
            let chartYAML = try #require(FileManager.default.contents(atPath: "\(Self.fixture)/Chart.yaml"))
            let metadata = try ChartSource.readMetadata(yaml: Array(chartYAML), file: "Chart.yaml")
            let packaged = try ChartSource.package(
                directory: Self.fixture,
                metadata: metadata,
                created: 1_700_000_000,
                store: store,
                what: "test"
            )
            try ChartSource.addArtifact(
                metadata: metadata,
                archive: packaged,
                source: "ingress-nginx",
                location: "test",
                created: 1_700_000_000,
                store: store,
                into: &contents
            )
            let chart = try #require(contents.charts.first)
            #expect(chart.name == "ingress-nginx" && chart.ref == "charts/ingress-nginx:\(chart.version)")
            digests.append(chart.chartDigest)
            let archive = store.path(of: try .init(chart.chartDigest))
            let reader = try TarReader(path: archive, input: .anyTar)
            var names: [String] = []
            while let header = try reader.next() { names.append(header.path) }
            #expect(names.contains("ingress-nginx/Chart.yaml") && names.contains("ingress-nginx/values.yaml"))
            #expect(names.contains { $0.hasPrefix("ingress-nginx/templates/") })
            // The chart's .helmignore drops its ci/ values and changelog? Only what it lists:
            let ignore = try String(contentsOfFile: "\(Self.fixture)/.helmignore", encoding: .utf8)
            if ignore.contains("*.md") || ignore.contains("changelog") {
                #expect(!names.contains { $0.contains("changelog/") && ignore.contains("changelog") })
            }
            #expect(names == names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
        }
        #expect(digests[0] == digests[1], "same chart, same bytes")
    }
}

struct StoreTests {
    @Test func aDamagedCachedBlobIsDetectedAndEvicted() throws {
        let root = NSTemporaryDirectory() + "store-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = try ContentStore(root: root)
        let stored = try store.ingest(bytes: Array("hello".utf8), what: "test")
        try Data("hellO".utf8).write(to: URL(fileURLWithPath: store.path(of: stored.digest)))
        #expect(throws: AirlockError.self) { try store.bytes(of: stored.digest) }
        #expect(!store.contains(stored.digest))
        #expect(throws: AirlockError.self) {
            try store.ingest(expected: stored.digest, what: "x") { sink in try Array("other".utf8).withUnsafeBytes { try sink($0) } }
        }
    }
}
