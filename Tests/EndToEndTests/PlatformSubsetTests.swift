import Foundation
import TestSupport
import Testing

/// `platforms:` for every image source: the same two-platform index with buildx-style
/// attestation manifests, taken from an OCI layout, from a registry (docker-registry) and from an
/// OCI-inside `docker save` archive, gives the same subset (same digest); the subset keeps the
/// attestation manifest of the kept platform and drops the other's, and skopeo copies it out of
/// the unpacked layout.
@Suite(.removesTemporaryFolders, .needs(.dockerRegistry, .skopeo, .tar, .zstd))
struct PlatformSubsetTests {
    @Test func everySourceGivesTheSameSubsetWithItsAttestations() throws {
        let root = try Harness.temporaryDirectory("subset")
        let example = try Harness.makeExample(in: root, dockerArchive: false, attestations: true)
        let registry = try TestRegistry(tls: false)
        defer { registry.stop() }
        let copy = try Harness.run([
            "skopeo", "copy", "--quiet", "--all", "--dest-tls-verify=false", "oci:\(example)/build/oci:multi-1.4.2",
            "docker://\(registry.host)/team/multi:1.4.2",
        ])
        try #require(copy.status == 0, "\(copy.stderr)")
        // An OCI-inside docker save archive holding the same index (as Docker 25+ writes it).
        let inside = "\(root)/inside"
        #expect(try Harness.run(["cp", "-r", "\(example)/build/oci", inside]).status == 0)
        let index = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(inside)/index.json"))) as? [String: Any]
        )
        var manifests = try #require(index["manifests"] as? [[String: Any]]).filter {
            ($0["annotations"] as? [String: String])?["org.opencontainers.image.ref.name"] == "multi-1.4.2"
        }
        manifests[0]["annotations"] = [
            "io.containerd.image.name": "registry.example.com/team/multi:1.4.2", "org.opencontainers.image.ref.name": "1.4.2",
        ]
        try JSONSerialization.data(withJSONObject: [
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests,
        ])
        .write(to: URL(fileURLWithPath: "\(inside)/index.json"))
        #expect(try Harness.run(["tar", "-cf", "\(root)/saved.tar", "-C", inside, "."]).status == 0)

        var digests: [String: String] = [:]
        for (label, source) in [
            ("layout", "layout: \(example)/build/oci\n    select: multi-1.4.2\n    name: registry.example.com/team/multi:1.4.2"),
            ("registry", "ref: \(registry.host)/team/multi:1.4.2\n    name: registry.example.com/team/multi:1.4.2"),
            ("archive", "archive: \(root)/saved.tar\n    name: registry.example.com/team/multi:1.4.2"),
        ] {
            let dir = "\(root)/\(label)"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try """
            apiVersion: airlock/v1
            kind: Bundle
            metadata: {name: subset, version: "1", created: "2026-11-01T00:00:00Z"}
            images:
              - \(source)
                platforms: [linux/amd64]
            """.write(toFile: "\(dir)/airlock.yaml", atomically: true, encoding: .utf8)
            let pack = try Harness.airlock(["pack", "-q", "--output", "json", "--plain-http", registry.host], in: dir)
            try #require(pack.status == 0, "\(label): \(pack.stderr)")
            let image = try #require(
                ((try JSONSerialization.jsonObject(with: pack.data) as? [String: Any])?["images"] as? [[String: Any]])?.first
            )
            #expect(image["platforms"] as? [String] == ["linux/amd64"], "\(label): \(image)")
            #expect(image["sourceDigest"] as? String != nil, "\(label): the source index's digest is recorded")
            let attestations = (image["attestationManifests"] as? [[String: String]]) ?? []
            #expect(attestations.count == 1, "\(label): the amd64 attestation manifest only: \(attestations)")
            digests[label] = image["digest"] as? String
            let inspect = try Harness.airlock(["inspect", "subset-1.tar.zst"], in: dir)
            #expect(
                inspect.stdout.contains("platform subset of index") && inspect.stdout.contains("attestation manifest sha256:"),
                "\(inspect.stdout)"
            )

            let unpack = try Harness.airlock(["unpack", "subset-1.tar.zst", "-o", "out", "--allow-unsigned"], in: dir)
            try #require(unpack.status == 0, "\(unpack.stderr)")
            let pulled = try Harness.run([
                "skopeo", "copy", "--quiet", "--all", "oci:\(dir)/out/oci:registry.example.com/team/multi:1.4.2", "oci:\(dir)/copied:x",
            ])
            #expect(pulled.status == 0, "\(label): skopeo copies the subset out: \(pulled.stderr)")
            let kept = try #require(attestations.first?["digest"]).dropFirst("sha256:".count)
            #expect(FileManager.default.fileExists(atPath: "\(dir)/out/oci/blobs/sha256/\(kept)"))
            let all = try String(
                contentsOfFile: "\(dir)/out/oci/blobs/sha256/\(try #require(digests[label]).dropFirst(7))",
                encoding: .utf8
            )
            #expect(!all.contains("arm64") && all.contains("attestation-manifest"), "\(label): \(all)")
        }
        #expect(Set(digests.values).count == 1, "the same subset from every source: \(digests)")
    }
}
