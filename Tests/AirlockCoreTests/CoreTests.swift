import BundleIO
import Foundation
import OCI
import TestSupport
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

@Suite(.removesTemporaryFolders)
struct ChartPackagingTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/fixtures/charts/ingress-nginx").path

    /// The published chart, copied with files its `.helmignore` names added (an editor's backup, a
    /// swap file, an IDE folder): those stay out of the package, everything else goes in (its
    /// changelog, ci values and tests, which the file does not name), in bytewise order, and two
    /// packagings give the same bytes.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: fixture) || ProcessInfo.processInfo.environment["CI"] == "true"))
    func thePublishedIngressNginxChartPackagesReproduciblyAndHonoursHelmignore() throws {
        let root = try Harness.temporaryDirectory("chart")
        let chart = "\(root)/ingress-nginx"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.fixture, toPath: chart)
        let ignored = ["values.yaml.bak", "templates/deployment.yaml.swp", ".vscode/settings.json", "notes.tmp", "ci/draft~"]
        for file in ignored {
            try FileManager.default.createDirectory(
                atPath: (("\(chart)/\(file)") as NSString).deletingLastPathComponent,
                withIntermediateDirectories: true
            )
            try Data("ignore me".utf8).write(to: URL(fileURLWithPath: "\(chart)/\(file)"))
        }
        var digests: [Digest] = []
        for run in 0..<2 {
            let store = try ContentStore(root: "\(root)/cache-\(run)")
            var contents = PackContents()
            let chartYAML = try #require(FileManager.default.contents(atPath: "\(chart)/Chart.yaml"))
            let metadata = try ChartSource.readMetadata(yaml: Array(chartYAML), file: "Chart.yaml")
            let packaged = try ChartSource.package(directory: chart, metadata: metadata, created: 1_700_000_000, store: store, what: "test")
            try ChartSource.addArtifact(
                metadata: metadata,
                archive: packaged,
                source: "ingress-nginx",
                location: "test",
                created: 1_700_000_000,
                store: store,
                into: &contents
            )
            let packed = try #require(contents.charts.first)
            #expect(packed.name == "ingress-nginx" && packed.ref == "charts/ingress-nginx:\(packed.version)")
            digests.append(packed.chartDigest)
            let reader = try TarReader(path: store.path(of: packed.chartDigest), input: .anyTar)
            var names: [String] = []
            while let header = try reader.next() { names.append(header.path) }
            for kept in ["Chart.yaml", "values.yaml", "README.md", ".helmignore", "changelog/helm-chart-2.10.0.md"] {
                #expect(names.contains("ingress-nginx/\(kept)"), "\(kept) is packaged")
            }
            #expect(names.contains { $0.hasPrefix("ingress-nginx/templates/") } && names.contains { $0.hasPrefix("ingress-nginx/ci/") })
            #expect(names.contains { $0.hasPrefix("ingress-nginx/tests/") })
            for file in ignored {
                #expect(!names.contains("ingress-nginx/\(file)"), "\(file) matches .helmignore and stays out")
            }
            #expect(!names.contains { $0.hasPrefix("ingress-nginx/.vscode") })
            #expect(names == names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
        }
        #expect(digests[0] == digests[1], "same chart, same bytes")
    }
}

@Suite(.removesTemporaryFolders)
struct StoreTests {
    @Test func aDamagedCachedBlobIsDetectedAndEvicted() throws {
        let root = try Harness.temporaryDirectory("store")
        let store = try ContentStore(root: root)
        let stored = try store.ingest(bytes: Array("hello".utf8), what: "test")
        try Data("hellO".utf8).write(to: URL(fileURLWithPath: store.path(of: stored.digest)))
        #expect { try store.bytes(of: stored.digest) } throws: { error in
            "\(error)".contains("was damaged on disk; it has been removed, run again") && exitStatus(for: error) == .usage
        }
        #expect(!store.contains(stored.digest))
        #expect {
            try store.ingest(expected: stored.digest, what: "x") { sink in try Array("other".utf8).withUnsafeBytes { try sink($0) } }
        } throws: { error in
            "\(error)".contains("x: content does not match its digest \(stored.digest)") && exitStatus(for: error) == .checkFailed
        }
    }
}
