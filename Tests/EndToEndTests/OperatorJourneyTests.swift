import Foundation
import TestSupport
import Testing

/// The operator's journey inside the network: verify, unpack, use the OCI layout with skopeo.
@Suite(.removesTemporaryFolders, .needs(.tar, .zstd, .openssl, .skopeo, .python3, .sha256sum))
struct OperatorJourneyTests {
    @Test func unpackedImagesCopyWithSkopeoWithTheirDigestsUnchanged() throws {
        let packed = try PackedExample.make()
        let out = "\(packed.root)/unpacked"
        let unpack = try Harness.airlock(["unpack", packed.bundle, "-o", out, "--key", "signer.pub"], in: packed.example)
        #expect(unpack.status == 0, "\(unpack.stderr)")
        for folder in ["oci/blobs/sha256", "charts", "endpoints", "files/docs"] {
            #expect(FileManager.default.fileExists(atPath: "\(out)/\(folder)"), "\(folder)")
        }
        #expect(FileManager.default.fileExists(atPath: "\(out)/charts/platform-1.4.2.tgz"))
        let chartList = try Harness.run(["tar", "-tzf", "\(out)/charts/platform-1.4.2.tgz"]).stdout
        #expect(chartList.contains("platform/Chart.yaml") && chartList.contains("platform/templates/deployment.yaml"))
        #expect(!chartList.contains("notes.swp"), ".helmignore is honoured")

        let predicate = try #require(try packed.statement()["predicate"] as? [String: Any])
        let images = try #require(predicate["images"] as? [[String: Any]])
        #expect(images.count == 3)
        for image in images {
            let name = try #require(image["name"] as? String)
            let digest = try #require(image["digest"] as? String)
            let raw = try Harness.run(["skopeo", "inspect", "--raw", "oci:\(out)/oci:\(name)"])
            #expect(raw.status == 0, "\(name): \(raw.stderr)")
            let rawDigest = try Harness.run(["sha256sum"], stdin: raw.data).stdout.prefix(64)
            #expect("sha256:\(rawDigest)" == digest, "\(name) manifest bytes changed")
            let copy = try Harness.run([
                "skopeo", "copy", "--quiet", "--all", "oci:\(out)/oci:\(name)",
                "oci:\(packed.root)/copy:\(name.split(separator: "/").last!)",
            ])
            #expect(copy.status == 0, "\(name): \(copy.stderr)")
        }
        // The docker save image keeps its config (the image ID) and its layer diff_ids.
        let worker = "registry.example.com/team/worker:1.4.2"
        let fromArchive = try Harness.run(["skopeo", "inspect", "--config", "docker-archive:\(packed.example)/build/worker.tar"])
        let fromBundle = try Harness.run(["skopeo", "inspect", "--config", "oci:\(out)/oci:\(worker)"])
        #expect(fromArchive.status == 0 && fromBundle.status == 0)
        #expect(fromArchive.data == fromBundle.data && !fromArchive.data.isEmpty)
        let layersArchive = try Harness.run(["skopeo", "inspect", "docker-archive:\(packed.example)/build/worker.tar"])
        let layersBundle = try Harness.run(["skopeo", "inspect", "oci:\(out)/oci:\(worker)"])
        let archiveInfo = try #require(try JSONSerialization.jsonObject(with: layersArchive.data) as? [String: Any])
        let bundleInfo = try #require(try JSONSerialization.jsonObject(with: layersBundle.data) as? [String: Any])
        #expect((archiveInfo["Layers"] as? [String]) == (bundleInfo["Layers"] as? [String]))
    }

    /// Each hostile variant: what to do to a good bundle, and what the refusal must say.
    static let hostileCases: [(String, [String], String)] = [
        ("statement byte flipped", ["flip", "statement.intoto.json"], "statement"),
        ("manifest byte flipped", ["flip", "MANIFEST"], "entry MANIFEST does not match its signed sha256 digest"),
        ("layer byte flipped", ["flip", "LAYER"], "entry LAYER does not match its signed sha256 digest"),
        ("endpoint byte flipped", ["flip", "endpoints/triage-llm.yaml"], "entry endpoints/triage-llm.yaml does not match"),
        ("extra entry", ["extra"], "entry files/extra.txt is not in the signed statement"),
        ("missing entry", ["missing", "LAYER"], "entry LAYER is in the signed statement but missing"),
        ("duplicated entry", ["duplicate", "MANIFEST"], "entry MANIFEST appears twice"),
        ("dot-dot path", ["path", "../x"], "entry ../x has an unsafe path"),
        ("absolute path", ["path", "/etc/x"], "entry /etc/x has an unsafe path"),
        ("symlink", ["symlink"], "entry files/link is a symlink"),
        ("hardlink", ["hardlink"], "entry files/hard is a hardlink"),
        ("device", ["device"], "entry files/null is a character device"),
        ("oversized entry", ["oversize", "LAYER"], "entry LAYER is 67108864 bytes in the tar but"),
        ("unknown format version", ["version", "--key", "signer.key"], "bundle format version 2"),
    ]

    @Test(arguments: hostileCases.map(\.0))
    func hostileBundlesAreRefusedWithASpecificLineAndNothingUnpacked(name: String) throws {
        let (_, recipe, expected) = try #require(Self.hostileCases.first { $0.0 == name })
        let packed = try PackedExample.make()
        let names = try Harness.run(["tar", "--zstd", "-tf", packed.bundle]).stdout.split(separator: "\n").map(String.init)
        let blobs = names.filter { $0.hasPrefix("oci/blobs/") }
        let (manifest, layer) = (try #require(blobs.first), try #require(blobs.last))
        let substitute = { (text: String) in
            text.replacingOccurrences(of: "MANIFEST", with: manifest).replacingOccurrences(of: "LAYER", with: layer)
        }
        let bad = "\(packed.example)/bad.tar.zst"
        var arguments = ["python3", "\(Harness.packageRoot)/Tests/Fixtures/hostile.py", recipe[0], packed.bundle, bad]
        arguments += recipe.dropFirst().map(substitute)
        let craft = try Harness.run(arguments, in: packed.example)
        try #require(craft.status == 0, "hostile.py: \(craft.stderr)")
        try expectRefused(bad, in: packed, expected: substitute(expected))
    }

    @Test func truncatedAppendedUnknownKeyAndUnsignedBundlesAreRefused() throws {
        let packed = try PackedExample.make()
        let dir = packed.example
        let data = try Data(contentsOf: URL(fileURLWithPath: packed.bundle))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: "\(dir)/truncated.tar.zst"))
        try (data + Data("appended".utf8)).write(to: URL(fileURLWithPath: "\(dir)/appended.tar.zst"))
        try expectRefused("\(dir)/truncated.tar.zst", in: packed, expected: "truncated")
        try expectRefused("\(dir)/appended.tar.zst", in: packed, expected: "8 bytes of data were appended after the bundle's last frame")

        #expect(try Harness.airlock(["key", "generate", "--out", "stranger"], in: dir).status == 0)
        let stranger = try Harness.airlock(["verify", packed.bundle, "--key", "stranger.pub"], in: dir)
        #expect(stranger.status == 1)
        #expect(stranger.stderr.contains("signed only by unknown key(s)"))

        let unsignedBundle = "\(dir)/unsigned.tar.zst"
        #expect(try Harness.airlock(["pack", "-q", "-o", unsignedBundle], in: dir).status == 0)
        try expectRefused(unsignedBundle, in: packed, expected: "bundle is unsigned")
    }

    @Test func aCorruptEarlyFrameSparesRandomAccessToLaterEntriesButFailsVerify() throws {
        let packed = try PackedExample.make()
        let index = try seekIndex(of: packed.bundle)
        let entries = try #require(index["entries"] as? [[String: Any]])
        // Corrupt the data of an early manifest's frame (compressed), keep the last entry intact.
        let early = try #require(entries.first { ($0["path"] as? String)?.hasPrefix("oci/blobs/") == true })
        let late = try #require(entries.last)
        let offset = try #require(early["offset"] as? Int) + (try #require(early["compressedSize"] as? Int)) / 2
        var data = try Data(contentsOf: URL(fileURLWithPath: packed.bundle))
        data[offset] ^= 0xff
        let damaged = "\(packed.example)/damaged.tar.zst"
        try data.write(to: URL(fileURLWithPath: damaged))

        let latePath = try #require(late["path"] as? String)
        let extract = try Harness.airlock(["extract", damaged, latePath, "-o", "late.bin", "--key", "signer.pub"], in: packed.example)
        #expect(extract.status == 0, "\(extract.stderr)")
        let digest = try #require(try packed.subjects()[latePath])
        #expect(try Harness.sha256(ofFile: "\(packed.example)/late.bin") == digest)

        let earlyPath = try #require(early["path"] as? String)
        let verify = try Harness.airlock(["verify", damaged, "--key", "signer.pub"], in: packed.example)
        #expect(verify.status == 1)
        #expect(verify.stderr.contains(earlyPath), "names the corrupted entry: \(verify.stderr)")
        let broken = try Harness.airlock(["extract", damaged, earlyPath, "-o", "early.bin", "--key", "signer.pub"], in: packed.example)
        #expect(broken.status == 1)
        #expect(!FileManager.default.fileExists(atPath: "\(packed.example)/early.bin"))
    }

    @Test func inspectReadsOnlyTheFirstFrameAndSaysItDidNotVerify() throws {
        let packed = try PackedExample.make()
        let entries = try #require(try seekIndex(of: packed.bundle)["entries"] as? [[String: Any]])
        // Keep the statement's frame and nothing else: inspect must still answer.
        let firstFrame = try #require(entries.first?["compressedSize"] as? Int)
        let data = try Data(contentsOf: URL(fileURLWithPath: packed.bundle))
        try data.prefix(firstFrame).write(to: URL(fileURLWithPath: "\(packed.example)/head.tar.zst"))
        let inspect = try Harness.airlock(["inspect", "head.tar.zst"], in: packed.example)
        #expect(inspect.status == 0, "\(inspect.stderr)")
        #expect(inspect.stdout.contains("NOT VERIFIED"))
        #expect(inspect.stdout.contains("registry.example.com/team/multi:1.4.2") && inspect.stdout.contains("linux/arm64"))
        #expect(inspect.stdout.contains("triage-llm: openai-compatible at llm-gateway.corp.internal"))
        let json = try Harness.airlock(["inspect", "head.tar.zst", "--output", "json"], in: packed.example)
        let report = try #require(try JSONSerialization.jsonObject(with: json.data) as? [String: Any])
        #expect(report["verified"] as? Bool == false)
        #expect(report["formatVersion"] as? Int == 1)
        #expect((report["signerKeyIDs"] as? [String])?.count == 1)
    }

    private func expectRefused(_ bundle: String, in packed: PackedExample, expected: String) throws {
        let verify = try Harness.airlock(["verify", bundle, "--key", "signer.pub"], in: packed.example)
        #expect(verify.status == 1, "verify must fail: \(verify.stdout)")
        #expect(verify.stderr.contains(expected), "expected \"\(expected)\" in: \(verify.stderr)")
        #expect(verify.stderr.split(separator: "\n").count == 1, "one line: \(verify.stderr)")
        let out = "\(packed.root)/out-\(UUID().uuidString.prefix(6))"
        let unpack = try Harness.airlock(["unpack", bundle, "-o", out, "--key", "signer.pub"], in: packed.example)
        #expect(unpack.status == 1)
        #expect(!FileManager.default.fileExists(atPath: out), "no output folder after a failed unpack")
        let staging = try FileManager.default.contentsOfDirectory(atPath: packed.root).filter { $0.contains("airlock-unpack") }
        #expect(staging.isEmpty, "no staging folder left: \(staging)")
    }

    /// Reads the JSON seek index from the end of a bundle (independently of airlock's reader).
    private func seekIndex(of bundle: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: bundle))
        let footer = data.suffix(12)
        let length =
            Int(footer[footer.startIndex]) | Int(footer[footer.startIndex + 1]) << 8
            | Int(footer[footer.startIndex + 2]) << 16 | Int(footer[footer.startIndex + 3]) << 24
        let start = data.count - 8 - length
        let json = data[(start + 8)..<(data.count - 12)]
        return try #require(try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any])
    }
}
