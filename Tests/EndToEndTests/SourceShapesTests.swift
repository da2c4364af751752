import Foundation
import TestSupport
import Testing

/// The shapes of local input a builder brings: whole layouts, Docker 25+ archives, packaged
/// charts, and damaged input that must stop the pack.
@Suite(.removesTemporaryFolders, .needs(.tar, .zstd, .openssl, .skopeo, .python3, .sha256sum))
struct SourceShapesTests {
    @Test func aWholeLayoutADocker25ArchiveAndAPackagedChartAllPack() throws {
        let root = try Harness.temporaryDirectory()
        let example = try Harness.makeExample(in: root, dockerArchive: false)
        // A layout whose ref names are full references: packed whole, without select: or name:.
        for (tag, name) in [("app-1.4.2", "registry.example.com/all/app:1"), ("multi-1.4.2", "registry.example.com/all/multi:1")] {
            let copy = try Harness.run([
                "skopeo", "copy", "--quiet", "--all", "oci:\(example)/build/oci:\(tag)", "oci:\(example)/all:\(name)",
            ])
            try #require(copy.status == 0, "\(copy.stderr)")
        }
        // A Docker 25+ `docker save`: an OCI layout plus manifest.json in one tar.
        let docker25 = try Harness.run(["python3", "-c", Self.docker25Script, "\(example)/build/oci", "\(example)/docker25.tar"])
        try #require(docker25.status == 0, "\(docker25.stderr)")
        let appDigest = try #require(docker25.stdout.split(separator: "\n").first.map(String.init))
        // A packaged chart is carried byte for byte.
        #expect(try Harness.run(["tar", "-czf", "\(example)/platform-1.4.2.tgz", "-C", "\(example)/charts", "platform"]).status == 0)
        let spec = """
            apiVersion: airlock/v1
            kind: Bundle
            metadata: {name: shapes, version: "1", created: "2026-11-01T00:00:00Z"}
            images:
              - layout: ./all
              - archive: ./docker25.tar
            charts:
              - path: ./platform-1.4.2.tgz
            """
        try spec.write(toFile: "\(example)/airlock.yaml", atomically: true, encoding: .utf8)
        let pack = try Harness.airlock(["pack", "-q", "--output", "json"], in: example)
        try #require(pack.status == 0, "\(pack.stderr)")
        let result = try #require(try JSONSerialization.jsonObject(with: pack.data) as? [String: Any])
        let images = try #require(result["images"] as? [[String: Any]])
        let byName = Dictionary(uniqueKeysWithValues: images.compactMap { image in (image["name"] as? String).map { ($0, image) } })
        #expect(
            Set(byName.keys) == [
                "registry.example.com/all/app:1", "registry.example.com/all/multi:1", "registry.example.com/team/oci-worker:2",
            ]
        )
        #expect(byName["registry.example.com/team/oci-worker:2"]?["digest"] as? String == appDigest, "the Docker 25 manifest is kept")
        let chart = try #require((result["charts"] as? [[String: Any]])?.first)
        #expect(chart["chartDigest"] as? String == "sha256:" + (try Harness.sha256(ofFile: "\(example)/platform-1.4.2.tgz")))
        let verify = try Harness.airlock(["verify", "shapes-1.tar.zst", "--allow-unsigned"], in: example)
        #expect(verify.status == 0, "\(verify.stderr)")
    }

    @Test func aDamagedLayoutBlobStopsThePackNamingItAndLeavesNoBundle() throws {
        let root = try Harness.temporaryDirectory()
        let example = try Harness.makeExample(in: root, dockerArchive: false)
        let blobs = "\(example)/build/oci/blobs/sha256"
        let biggest = try FileManager.default.contentsOfDirectory(atPath: blobs).max { lhs, rhs in
            let size = { (name: String) in (try? FileManager.default.attributesOfItem(atPath: "\(blobs)/\(name)")[.size] as? Int) ?? 0 }
            return size(lhs) < size(rhs)
        }
        let victim = "\(blobs)/\(try #require(biggest))"
        var data = try Data(contentsOf: URL(fileURLWithPath: victim))
        data[data.count / 2] ^= 0x55
        try data.write(to: URL(fileURLWithPath: victim))
        let pack = try Harness.airlock(["pack", "-q"], in: example)
        #expect(pack.status == 1, "\(pack.stderr)")
        #expect(pack.stderr.contains(try #require(biggest)), "names the blob: \(pack.stderr)")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: example).filter { $0.contains(".tar.zst") }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }

    /// Writes a Docker 25-style archive of the example's app image; prints its manifest digest.
    static let docker25Script = #"""
        import io, json, os, sys, tarfile
        layout, out = sys.argv[1], sys.argv[2]
        index = json.load(open(os.path.join(layout, "index.json")))
        app = [m for m in index["manifests"] if m["annotations"]["org.opencontainers.image.ref.name"] == "app-1.4.2"][0]
        digest = app["digest"].split(":")[1]
        manifest = json.load(open(os.path.join(layout, "blobs/sha256", digest)))
        blobs = [digest, manifest["config"]["digest"].split(":")[1]] + [l["digest"].split(":")[1] for l in manifest["layers"]]
        descriptor = dict(app)
        descriptor["annotations"] = {"io.containerd.image.name": "registry.example.com/team/oci-worker:2",
                                     "org.opencontainers.image.ref.name": "2"}
        files = {
            "oci-layout": b'{"imageLayoutVersion":"1.0.0"}',
            "index.json": json.dumps({"schemaVersion": 2, "manifests": [descriptor]}).encode(),
            "manifest.json": json.dumps([{"Config": "blobs/sha256/" + blobs[1], "RepoTags": ["registry.example.com/team/oci-worker:2"],
                                          "Layers": ["blobs/sha256/" + b for b in blobs[2:]]}]).encode(),
        }
        for blob in blobs:
            files["blobs/sha256/" + blob] = open(os.path.join(layout, "blobs/sha256", blob), "rb").read()
        with tarfile.open(out, "w") as tar:
            for name, data in files.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        print(app["digest"])
        """#
}
