import Foundation
import OCI
import StrictYAML
import Testing

@testable import AirlockCore

/// The planners, table-driven: what goes where in a bundle, where a push sends it, which blobs it
/// uploads once, which spec mistakes are caught, which platforms a subset keeps, and whether the
/// bundle carries an image a chart names.
struct PackEntryOrderTests {
    static func digest(_ seed: String) -> Digest { Digest.sha256(of: Array(seed.utf8)) }

    /// Layout files, then manifests, configs, endpoint and plain files, then layers; bytewise by
    /// path within each group; a blob used in two roles placed by the earlier.
    @Test func metadataComesBeforeDataInAFixedOrder() throws {
        var contents = PackContents()
        let (manifest, config, layer, shared) = (Self.digest("m"), Self.digest("c"), Self.digest("l"), Self.digest("s"))
        contents.addBlob(layer, size: 100, role: .layer)
        contents.addBlob(config, size: 10, role: .config)
        contents.addBlob(manifest, size: 5, role: .manifest)
        contents.addBlob(shared, size: 7, role: .layer)
        contents.addBlob(shared, size: 7, role: .config)
        contents.extras = [
            .init(path: "files/b.txt", digest: Self.digest("b"), size: 1),
            .init(path: "endpoints/a.yaml", digest: Self.digest("a"), size: 1),
        ]
        let layout: [PackContents.Extra] = [
            .init(path: "oci/oci-layout", digest: Self.digest("o"), size: 1),
            .init(path: "oci/index.json", digest: Self.digest("i"), size: 1),
        ]
        let packer = Packer(options: .init(specPath: "", output: nil, keys: [], cacheRoot: "", now: 0))
        let planned = packer.plan(contents, layout: layout)
        let configs = [config, shared].map(BundleFormat.blobEntry).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        #expect(
            planned.map(\.path)
                == ["oci/index.json", "oci/oci-layout", BundleFormat.blobEntry(manifest)] + configs
                + ["endpoints/a.yaml", "files/b.txt", BundleFormat.blobEntry(layer)]
        )
        #expect(planned.map(\.group) == [.layout, .layout, .manifests, .configs, .configs, .extras, .extras, .layers])
    }
}

struct PushTargetTests {
    @Test(arguments: [
        ("registry.internal:5000", "registry.internal:5000", "", "team/app", "team/app"),
        ("registry.internal:5000/platform", "registry.internal:5000", "platform", "team/app", "platform/team/app"),
        ("harbor.example/project/sub/", "harbor.example", "project/sub", "app", "project/sub/app"),
    ])
    func aTargetNamesEveryRepositoryUnderItsPrefix(text: String, host: String, prefix: String, path: String, repository: String) throws {
        let target = try PushTarget(text)
        #expect(try target.host == host && target.prefix == prefix && target.repository(for: path).path == repository)
    }

    @Test(arguments: [
        ("https://registry.internal", "without a scheme"),
        ("", "without a scheme"),
        ("registry.internal/Upper Case", "is not a valid repository path"),
    ])
    func aBadTargetIsRefusedInOneLine(text: String, message: String) {
        #expect {
            try PushTarget(text)
        } throws: { error in
            "\(error)".contains(message) && !"\(error)".contains("\n")
        }
    }
}

struct BlobGroupingTests {
    static func plan(_ name: String, repository: String, blobs: [(String, Int64)]) throws -> ImagePlan {
        let descriptors = blobs.map { Descriptor(mediaType: MediaType.ociLayerGzip, digest: PackEntryOrderTests.digest($0.0), size: $0.1) }
        return ImagePlan(
            sourceName: name,
            kind: .image,
            repository: try RepositoryName(repository),
            tag: "1",
            root: Descriptor(mediaType: MediaType.ociManifest, digest: PackEntryOrderTests.digest(name), size: 1),
            rootBytes: [],
            children: [],
            blobs: descriptors
        )
    }

    /// Each blob once, with every repository that needs it (in push order) and the first image
    /// that uses it, largest first so the long uploads start early.
    @Test func eachBlobIsUploadedOnceForEveryRepositoryThatNeedsIt() throws {
        let work = BlobWork.group([
            try Self.plan("app", repository: "team/app", blobs: [("base", 50), ("app", 10)]),
            try Self.plan("worker", repository: "team/worker", blobs: [("base", 50), ("worker", 80)]),
            try Self.plan("app-copy", repository: "team/app", blobs: [("app", 10)]),
        ])
        let digest = { (seed: String) in PackEntryOrderTests.digest(seed) }
        #expect(work.map(\.digest) == [digest("worker"), digest("base"), digest("app")])
        #expect(work.map { $0.repositories.map(\.path) } == [["team/worker"], ["team/app", "team/worker"], ["team/app"]])
        #expect(work.map(\.owner) == ["image worker", "image app", "image app"])
    }
}

struct SpecErrorTests {
    static func parse(_ yaml: String) throws -> BundleSpec {
        let documents = try parseDocuments(yaml, file: "airlock.yaml")
        return try BundleSpec.parse(documents[0], baseDirectory: NSTemporaryDirectory(), file: "airlock.yaml")
    }

    static let header = "apiVersion: airlock/v1\nkind: Bundle\nmetadata: {name: platform, version: \"1.0\"}\n"

    @Test(arguments: [
        (
            "apiVersion: airlock/v2\nkind: Bundle\nmetadata: {name: p, version: \"1\"}\n", "airlock.yaml:1",
            "must be airlock/v1, not airlock/v2"
        ),
        ("apiVersion: airlock/v1\nkind: Bundel\nmetadata: {name: p, version: \"1\"}\n", "airlock.yaml:2", "must be Bundle, not Bundel"),
        ("apiVersion: airlock/v1\nkind: Bundle\n", "airlock.yaml", "missing required key \"metadata\""),
        ("apiVersion: airlock/v1\nkind: Bundle\nmetadata: {name: ../p, version: \"1\"}\n", "airlock.yaml:3", "must be letters, digits"),
        (header + "imagez: []\n", "airlock.yaml:4", "imagez"),
        (header + "attest: sometimes\n", "airlock.yaml:4", "attest"),
        (
            header + "images:\n  - layout: .\n    name: x/y:1\n    referrers: true\n", "airlock.yaml",
            "referrers: true applies to images pulled with ref:"
        ),
        (header + "images:\n  - ref: \"Not A Reference\"\n", "airlock.yaml:5", "invalid image reference \"Not A Reference\""),
    ])
    func eachMistakeIsNamedWithItsFileAndLine(yaml: String, location: String, message: String) {
        #expect {
            try Self.parse(yaml)
        } throws: { error in
            let text = "\(error)"
            return text.contains(location) && text.contains(message) && !text.contains("\n")
        }
    }

    @Test func attestIsReadFromTheSpec() throws {
        #expect(try Self.parse(Self.header + "attest: true\n").attest)
        #expect(try !Self.parse(Self.header).attest)
    }
}

struct PlatformSubsetTests {
    static func index() throws -> [UInt8] {
        let manifests = ["linux/amd64", "linux/arm64/v8", "windows/amd64"].map { platform -> [String: Any] in
            let parts = platform.split(separator: "/").map(String.init)
            var described: [String: Any] = ["os": parts[0], "architecture": parts[1]]
            if parts.count > 2 { described["variant"] = parts[2] }
            return [
                "mediaType": MediaType.ociManifest.rawValue, "digest": PackEntryOrderTests.digest(platform).description, "size": 1,
                "platform": described,
            ]
        }
        let object: [String: Any] = ["schemaVersion": 2, "mediaType": MediaType.ociIndex.rawValue, "manifests": manifests]
        return Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
    }

    @Test(arguments: [
        (["linux/amd64"], ["linux/amd64"], false),
        (["linux/arm64"], ["linux/arm64/v8"], false),
        (["linux/amd64", "windows/amd64"], ["linux/amd64", "windows/amd64"], false),
        ([], ["linux/amd64", "linux/arm64/v8", "windows/amd64"], true),
    ])
    func aSubsetKeepsTheAskedPlatforms(asked: [String], kept: [String], all: Bool) throws {
        let selected = try PlatformSubset.select(try Self.index(), platforms: asked.map { try Platform(parsing: $0) }, what: "test")
        #expect(selected.kept.map(\.digest) == kept.map { PackEntryOrderTests.digest($0) })
        #expect(selected.all == all)
    }

    @Test func aPlatformTheIndexLacksIsRefusedNamingWhatItOffers() {
        #expect {
            try PlatformSubset.select(try Self.index(), platforms: [Platform(os: "linux", architecture: "s390x")], what: "image x")
        } throws: { error in
            "\(error)".contains("no manifest for linux/s390x") && "\(error)".contains("linux/arm64/v8")
        }
    }
}

struct ChartImageStatusTests {
    static let pinned = PackEntryOrderTests.digest("pinned")
    static let source = PackEntryOrderTests.digest("source")
    static let images = [
        BundlePredicate.Image(
            name: "registry.example.com/team/app:1.4.2",
            source: "registry.example.com/team/app:1.4.2",
            digest: pinned,
            mediaType: MediaType.ociIndex,
            size: 1,
            sourceDigest: source
        ),
        BundlePredicate.Image(
            name: "mirror.example.com/team/worker:2",
            source: "docker.io/library/worker:2",
            digest: PackEntryOrderTests.digest("worker"),
            mediaType: MediaType.ociManifest,
            size: 1
        ),
    ]

    @Test(arguments: [
        ("registry.example.com/team/app:1.4.2", BundlePredicate.ChartImage.Status.inBundle),
        ("registry.example.com/team/app@\(pinned)", .inBundle),
        ("registry.example.com/team/app:1.4.2@\(source)", .platformSubset),
        ("registry.example.com/team/app:1.4.2@sha256:\(String(repeating: "d", count: 64))", .digestDiffers),
        ("registry.example.com/team/app:9.9.9", .missing),
        ("worker:2", .inBundle),
        ("docker.io/library/worker:3", .missing),
        ("not a reference", .missing),
    ])
    func theBundleCarriesWhatTheChartNames(reference: String, status: BundlePredicate.ChartImage.Status) {
        #expect(ChartImageFinder(bundleImages: Self.images).status(of: reference) == status)
    }
}
