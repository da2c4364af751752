import Foundation
import TestSupport
import Testing

/// A bundle carried on media smaller than itself (DVDs, size-capped USB sticks, a diode's file
/// limit): `pack --split-size` writes parts, each command reads them in place, the gate checks each
/// part alone, and stock tools read their concatenation.
@Suite(.removesTemporaryFolders, .needs(.dockerRegistry, .skopeo, .tar, .zstd, .openssl, .python3, .sha256sum))
struct SplitBundleJourneyTests {
    /// A packed example (Ed25519, so the split bundle can be compared byte for byte with the
    /// unsplit one) and the same bundle packed into `discs/` as parts of 64 KiB.
    struct Split {
        let packed: PackedExample
        let base: String
        let parts: [String]
        let report: [String: Any]
        var dir: String { packed.example }

        static func make(keyType: String = "ed25519") throws -> Split {
            let packed = try PackedExample.make(keyType: keyType, layerMB: 1)
            try FileManager.default.createDirectory(atPath: "\(packed.example)/discs", withIntermediateDirectories: true)
            let pack = try Harness.airlock(
                [
                    "pack", "-q", "--key", "signer.key", "-o", "discs/platform-1.4.2.tar.zst",
                    "--split-size", "64KiB", "--output", "json",
                ],
                in: packed.example
            )
            try #require(pack.status == 0, "pack: \(pack.stderr)")
            let report = try #require(try JSONSerialization.jsonObject(with: pack.data) as? [String: Any])
            let parts = try #require(report["parts"] as? [[String: Any]]).compactMap { $0["path"] as? String }
            let base = "\(packed.example)/discs/platform-1.4.2.tar.zst"
            return Split(packed: packed, base: base, parts: parts.map { "\(packed.example)/\($0)" }, report: report)
        }

        /// An offset inside part `index` (0-based) that holds an entry's own bytes (not a tar
        /// header or the zero padding after the data, which no entry digest covers): the middle
        /// of a stored entry's data, found through the seek index of the joined parts.
        func entryDataOffset(inPart index: Int) throws -> Int {
            var joined = Data()
            for part in parts { joined += try Data(contentsOf: URL(fileURLWithPath: part)) }
            let footer = Array(joined.suffix(12))
            let length = Int(footer[0]) | Int(footer[1]) << 8 | Int(footer[2]) << 16 | Int(footer[3]) << 24
            let json = joined[(joined.count - 8 - length + 8)..<(joined.count - 12)]
            let seek = try #require(try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any])
            let entries = try #require(seek["entries"] as? [[String: Any]])
            let partSize = 65_536
            for entry in entries {
                let (offset, size, header) = (entry["offset"] as? Int ?? 0, entry["size"] as? Int ?? 0, entry["headerSize"] as? Int ?? 0)
                let stored = (entry["compressedSize"] as? Int ?? 0) > size
                let middle = offset + 6 + 3 + header + size / 2  // frame header, raw block header, tar header
                if stored, size >= 64, header + size < 128 * 1024, middle / partSize == index { return middle % partSize }
            }
            throw SplitError.noEntryInPart
        }

        enum SplitError: Error { case noEntryInPart }
    }

    @Test func thePartsAreTheBundleAndEveryCommandReadsThemInPlace() throws {
        let split = try Split.make()
        let dir = split.dir
        try #require(split.parts.count >= 3, "\(split.report)")
        #expect(split.parts == (1...split.parts.count).map { split.base + String(format: ".part%03d", $0) })
        var joined = Data()
        for (number, part) in split.parts.enumerated() {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: part))
            #expect(number == split.parts.count - 1 ? bytes.count <= 65_536 : bytes.count == 65_536, "\(part)")
            joined += bytes
        }
        #expect(!FileManager.default.fileExists(atPath: split.base))
        #expect(joined == (try Data(contentsOf: URL(fileURLWithPath: split.packed.bundle))), "the parts concatenate to the unsplit bundle")

        // Stock tools read the concatenation; sha256sum of each part is what the envelope signs.
        let listing = try Harness.run(["bash", "-c", "cat \"$0\".part* | zstd -dc | tar -t", split.base])
        let wholeListing = try Harness.run(["tar", "--zstd", "-tf", split.packed.bundle]).stdout
        #expect(listing.status == 0 && listing.stdout == wholeListing)
        let signed = try Harness.run([
            "python3", "-c",
            """
            import base64, json, sys
            e = json.load(open(sys.argv[1]))
            for s in json.loads(base64.b64decode(e["payload"]))["subject"]:
                if "part" in s.get("annotations", {}): print(s["digest"]["sha256"] + "  " + s["name"])
            """, split.base + ".intoto.json",
        ])
        let sums = try Harness.run(
            ["bash", "-c", "cd \"$(dirname \"$0\")\" && sha256sum --check --strict", split.base],
            stdin: signed.data
        )
        #expect(
            signed.stdout.split(separator: "\n").count == split.parts.count && sums.status == 0,
            "\(signed.stdout) \(sums.stdout) \(sums.stderr)"
        )

        // By the bundle's name or by any part's.
        for name in [split.base, split.parts[1]] {
            let verify = try Harness.airlock(["verify", name, "--key", "signer.pub"], in: dir)
            #expect(
                verify.status == 0 && verify.stdout.contains("read from \(split.parts.count) parts"),
                "\(name): \(verify.stdout) \(verify.stderr)"
            )
        }
        let inspect = try Harness.airlock(["inspect", split.base], in: dir)
        #expect(inspect.stdout.contains("split into \(split.parts.count) parts: \(split.base).part001 (64.0 KiB)"), "\(inspect.stdout)")
        #expect(try Harness.airlock(["unpack", split.base, "-o", "from-parts", "--key", "signer.pub"], in: dir).status == 0)
        #expect(try Harness.airlock(["unpack", split.packed.bundle, "-o", "from-whole", "--key", "signer.pub"], in: dir).status == 0)
        let diff = try Harness.run(["diff", "-r", "from-parts", "from-whole"], in: dir)
        #expect(diff.status == 0, "unpacked parts differ from the unpacked bundle: \(diff.stdout)")
        let extract = try Harness.airlock(
            ["extract", split.parts[0], "files/docs/INSTALL.md", "-o", "INSTALL.md", "--key", "signer.pub"],
            in: dir
        )
        #expect(
            extract.status == 0 && FileManager.default.contentsEqual(atPath: "\(dir)/INSTALL.md", andPath: "\(dir)/docs/INSTALL.md"),
            "\(extract.stderr)"
        )

        // A second signer keeps the split: same part size, the new signature in part 1.
        #expect(try Harness.airlock(["key", "generate", "--out", "second"], in: dir).status == 0)
        let sign = try Harness.airlock(["sign", split.base, "--key", "second.key"], in: dir)
        #expect(sign.status == 0, "\(sign.stderr)")
        #expect(try Harness.airlock(["verify", split.base, "--key", "second.pub"], in: dir).status == 0)
        #expect(try FileManager.default.attributesOfItem(atPath: split.parts[0])[.size] as? Int == 65_536)
        #expect(try Harness.airlock(["verify", split.base, "--key", "second.pub", "--detached"], in: dir).status == 0)
    }

    @Test func theStockToolRecipeVerifiesTheParts() throws {
        let split = try Split.make(keyType: "ecdsa-p256")
        let recipe = "\(Harness.packageRoot)/scripts/audit-verify.sh"
        let good = try Harness.run(["bash", recipe, split.base, "signer.pub"], in: split.dir)
        #expect(good.status == 0 && good.stdout.hasPrefix("OK: signature verified"), "\(good.stdout) \(good.stderr)")
        var bytes = try Data(contentsOf: URL(fileURLWithPath: split.parts[1]))
        bytes[try split.entryDataOffset(inPart: 1)] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: split.parts[1]))
        let bad = try Harness.run(["bash", recipe, split.base, "signer.pub"], in: split.dir)
        #expect(bad.status != 0 && !bad.stdout.contains("OK"), "a damaged part fails the recipe: \(bad.stdout) \(bad.stderr)")
    }

    @Test func theGateChecksEachPartAndEveryReaderNamesTheOneMissingOrDamaged() throws {
        let split = try Split.make()
        let dir = split.dir
        let all = try Harness.airlock(["verify", split.base, "--key", "signer.pub", "--detached"], in: dir)
        #expect(
            all.status == 0 && all.stdout.components(separatedBy: "— the part as signed").count == split.parts.count + 1,
            "\(all.stdout)"
        )
        let one = try Harness.airlock(["verify", split.parts[2], "--key", "signer.pub", "--detached", "--output", "json"], in: dir)
        let oneReport = try #require(try JSONSerialization.jsonObject(with: one.data) as? [String: Any])
        #expect(one.status == 0 && (oneReport["parts"] as? [[String: Any]])?.map { $0["part"] as? Int } == [3], "\(one.stdout)")

        func failure(_ arguments: [String]) throws -> String {
            let result = try Harness.airlock(arguments + ["--key", "signer.pub"], in: dir)
            #expect(result.status == 1 && result.stdout.isEmpty, "\(arguments): \(result.status) \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "one line: \(result.stderr)")
            return result.stderr
        }
        let part2 = split.parts[1]
        try FileManager.default.moveItem(atPath: part2, toPath: "\(dir)/aside")
        #expect(try failure(["verify", split.base]).contains("\(part2) is missing (found .part001, .part003"))
        #expect(
            try failure(["verify", split.base, "--detached"]).contains(
                "\(part2) is missing (the envelope signs \(split.parts.count) parts)"
            )
        )
        #expect(
            try Harness.airlock(["verify", split.parts[0], "--key", "signer.pub", "--detached"], in: dir).status == 0,
            "the parts at hand still check one by one"
        )
        #expect(try failure(["unpack", split.base, "-o", "out"]).contains("is missing"))
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/out"))
        try FileManager.default.moveItem(atPath: "\(dir)/aside", toPath: part2)

        let last = split.parts[split.parts.count - 1]
        try FileManager.default.moveItem(atPath: last, toPath: "\(dir)/aside")
        #expect(
            try failure(["verify", split.base]).contains(
                "missing at the end of \(split.parts[split.parts.count - 2]): a later part is missing"
            )
        )
        try FileManager.default.moveItem(atPath: "\(dir)/aside", toPath: last)

        // A flipped byte (in a frame's data or its framing): verify names the part holding it; so does the gate.
        let original = try Data(contentsOf: URL(fileURLWithPath: part2))
        var flipped = original
        flipped[try split.entryDataOffset(inPart: 1)] ^= 0x01
        try flipped.write(to: URL(fileURLWithPath: part2))
        let verify = try failure(["verify", split.base])
        #expect(
            (verify.contains("does not match its signed sha256 digest") || verify.contains("is damaged after entry"))
                && verify.contains("(its bytes are in platform-1.4.2.tar.zst.part002"),
            "\(verify)"
        )
        #expect(try failure(["verify", split.base, "--detached"]).contains("\(part2) hashes to sha256:"))
        #expect(try failure(["verify", part2, "--detached"]).contains("\(part2) hashes to sha256:"))
        try original.write(to: URL(fileURLWithPath: part2))

        // A part left by another bundle beside the signed ones is not let through.
        let stray = split.base + String(format: ".part%03d", split.parts.count + 1)
        try Data("stray".utf8).write(to: URL(fileURLWithPath: stray))
        #expect(
            try failure(["verify", split.base, "--detached"]).contains(
                "\(stray) is not one of the \(split.parts.count) parts the envelope signs"
            )
        )
        #expect(try failure(["verify", split.base]).contains("seek index"), "the stray bytes follow the index")
    }

    @Test func repackingLeavesOnlyTheNewPartsAndBadSizesWriteNothing() throws {
        let split = try Split.make()
        let dir = split.dir
        let larger = try Harness.airlock(
            ["pack", "-q", "--key", "signer.key", "-o", "discs/platform-1.4.2.tar.zst", "--split-size", "128K"],
            in: dir
        )
        #expect(
            larger.status == 0
                && larger.stdout.contains("removed discs/platform-1.4.2.tar.zst.part00\(split.parts.count), left by an earlier bundle"),
            "\(larger.stdout)"
        )
        let expected =
            (1...((split.parts.count + 1) / 2)).map { "platform-1.4.2.tar.zst" + String(format: ".part%03d", $0) } + [
                "platform-1.4.2.tar.zst.intoto.json"
            ]
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(dir)/discs").sorted() == expected.sorted())
        #expect(try Harness.airlock(["verify", split.base, "--key", "signer.pub", "--detached"], in: dir).status == 0)

        let whole = try Harness.airlock(["pack", "-q", "--key", "signer.key", "-o", "discs/platform-1.4.2.tar.zst"], in: dir)
        #expect(whole.status == 0)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: "\(dir)/discs").sorted() == [
                "platform-1.4.2.tar.zst", "platform-1.4.2.tar.zst.intoto.json",
            ]
        )

        for bad in ["1K", "64", "4Q", "-5G", ""] {
            let result = try Harness.airlock(
                ["pack", "-q", "--key", "signer.key", "-o", "discs/other.tar.zst", "--split-size", bad],
                in: dir
            )
            #expect(result.status == 2 && result.stderr.contains("--split-size"), "\(bad): \(result.stderr)")
        }
        #expect(!(try FileManager.default.contentsOfDirectory(atPath: "\(dir)/discs")).contains { $0.contains("other") })
    }

    @Test func pushAndServeReadThePartsWithoutJoiningThem() throws {
        let split = try Split.make()
        let registry = try TestRegistry(tls: false)
        defer { registry.stop() }
        let push = try Harness.airlock(
            [
                "push", split.parts[0], "--registry", "\(registry.host)/parts", "--plain-http", registry.host,
                "--key", "signer.pub", "--output", "json",
            ],
            in: split.dir
        )
        try #require(push.status == 0, "push: \(push.stderr)")
        let images = try #require((try JSONSerialization.jsonObject(with: push.data) as? [String: Any])?["images"] as? [[String: String]])
        #expect(images.count == 4)
        for image in images {
            let target = try #require(image["target"])
            let raw = try Harness.run(["skopeo", "inspect", "--raw", "--tls-verify=false", "docker://\(target)"])
            #expect(try "sha256:" + Harness.run(["sha256sum"], stdin: raw.data).stdout.prefix(64) == image["digest"] ?? "", "\(target)")
        }
        let app = try #require(images.first { $0["source"] == "registry.example.com/team/app:1.4.2" }?["target"])
        let copy = try Harness.run([
            "skopeo", "copy", "--quiet", "--src-tls-verify=false", "docker://\(app)", "oci:\(split.packed.root)/pulled:app",
        ])
        #expect(copy.status == 0, "every layer arrived: \(copy.stderr)")

        let serve = try ServeProcess([split.base, "--key", "signer.pub", "--output", "json"], in: split.dir)
        let served = try #require(try serve.listening()["images"] as? [[String: String]])
        let target = try #require(served.first { $0["source"] == "registry.example.com/team/app:1.4.2" }?["target"])
        let fromServe = try Harness.run([
            "skopeo", "copy", "--quiet", "--src-tls-verify=false", "docker://\(target)", "oci:\(split.packed.root)/served:app",
        ])
        #expect(fromServe.status == 0, "\(fromServe.stderr)")
        #expect(serve.stop() == 0)
    }
}
