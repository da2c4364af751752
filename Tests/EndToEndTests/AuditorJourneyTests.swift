import Foundation
import TestSupport
import Testing

/// The auditor's journey: verify a bundle months later with openssl, tar, zstd, sha256sum and
/// python3 only, by the recipe the README prints.
@Suite(.removesTemporaryFolders, .needs(.tar, .zstd, .openssl, .skopeo, .python3, .sha256sum))
struct AuditorJourneyTests {
    static let recipe = "\(Harness.packageRoot)/scripts/audit-verify.sh"

    @Test func theReadmePrintsExactlyTheRecipeTheTestsRun() throws {
        let readme = try String(contentsOfFile: "\(Harness.packageRoot)/README.md", encoding: .utf8)
        let script = try String(contentsOfFile: Self.recipe, encoding: .utf8)
        #expect(readme.contains(script), "README.md must contain scripts/audit-verify.sh verbatim")
    }

    @Test func theStockToolRecipeVerifiesAGoodBundleAndRejectsTamperedOnes() throws {
        let packed = try PackedExample.make()
        let good = try Harness.run(["bash", Self.recipe, packed.bundle, "signer.pub"], in: packed.example)
        #expect(good.status == 0, "\(good.stderr)")
        #expect(good.stdout.hasPrefix("OK: signature verified"))

        let layer = try #require(
            try Harness.run(["tar", "--zstd", "-tf", packed.bundle]).stdout.split(separator: "\n").last.map(String.init)
        )
        for recipe in [["flip", layer], ["extra"], ["flip", "statement.intoto.json"]] {
            let bad = "\(packed.example)/bad.tar.zst"
            let craft = try Harness.run(
                ["python3", "\(Harness.packageRoot)/Tests/Fixtures/hostile.py", recipe[0], packed.bundle, bad] + recipe.dropFirst()
            )
            try #require(craft.status == 0, "\(craft.stderr)")
            let result = try Harness.run(["bash", Self.recipe, bad, "signer.pub"], in: packed.example)
            #expect(result.status != 0, "\(recipe) must fail the recipe")
            #expect(result.stderr.contains("FAILED"), "\(recipe): \(result.stderr)")
        }
        // The detached envelope lets a gate check the file before opening it.
        let detached = try Harness.run([
            "python3", "-c",
            """
            import base64, json, sys
            e = json.load(open(sys.argv[1]))
            print(json.loads(base64.b64decode(e["payload"]))["subject"][0]["digest"]["sha256"])
            """, packed.bundle + ".intoto.json",
        ])
        #expect(detached.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == (try Harness.sha256(ofFile: packed.bundle)))
    }

    @Test func aGateChecksTheFileAgainstItsDetachedEnvelopeWithoutOpeningIt() throws {
        let packed = try PackedExample.make()
        let dir = packed.example
        let good = try Harness.airlock(["verify", packed.bundle, "--key", "signer.pub", "--detached"], in: dir)
        #expect(good.status == 0, "\(good.stderr)")
        #expect(good.stdout.contains("sha256 \(try Harness.sha256(ofFile: packed.bundle)),"), "the file's sha256sum: \(good.stdout)")
        #expect(good.stdout.contains("signature by key") && good.stdout.contains(": verified"))

        // Renamed, with its envelope named explicitly: the signed name is reported, the bytes decide.
        try FileManager.default.copyItem(atPath: packed.bundle, toPath: "\(dir)/renamed.tar.zst")
        let renamed = try Harness.airlock(
            ["verify", "renamed.tar.zst", "--key", "signer.pub", "--envelope", "\(packed.bundle).intoto.json"],
            in: dir
        )
        #expect(renamed.status == 0 && renamed.stdout.contains("(signed as platform-1.4.2.tar.zst)"), "\(renamed.stdout) \(renamed.stderr)")

        #expect(try Harness.airlock(["key", "generate", "--out", "stranger"], in: dir).status == 0)
        var flipped = try Data(contentsOf: URL(fileURLWithPath: packed.bundle))
        flipped[flipped.count / 2] ^= 0x01
        try flipped.write(to: URL(fileURLWithPath: "\(dir)/flipped.tar.zst"))
        try FileManager.default.copyItem(atPath: "\(packed.bundle).intoto.json", toPath: "\(dir)/flipped.tar.zst.intoto.json")
        try FileManager.default.copyItem(atPath: packed.bundle, toPath: "\(dir)/longer.tar.zst")
        let handle = try #require(FileHandle(forWritingAtPath: "\(dir)/longer.tar.zst"))
        handle.seekToEndOfFile()
        handle.write(Data([0]))
        try handle.close()
        try FileManager.default.copyItem(atPath: "\(packed.bundle).intoto.json", toPath: "\(dir)/longer.tar.zst.intoto.json")
        let cases: [(arguments: [String], status: Int32, message: String)] = [
            (["flipped.tar.zst", "--key", "signer.pub", "--detached"], 1, "flipped.tar.zst hashes to sha256:"),
            (
                ["longer.tar.zst", "--key", "signer.pub", "--detached"], 1,
                "the detached envelope signs \(try FileManager.default.attributesOfItem(atPath: packed.bundle)[.size] as? Int ?? 0)"
            ),
            ([packed.bundle, "--key", "stranger.pub", "--detached"], 1, "signed only by unknown key(s)"),
            (["renamed.tar.zst", "--key", "signer.pub", "--detached"], 2, "no detached envelope renamed.tar.zst.intoto.json"),
        ]
        for (arguments, status, message) in cases {
            let result = try Harness.airlock(["verify"] + arguments, in: dir)
            #expect(result.status == status, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains(message) && result.stderr.split(separator: "\n").count == 1, "\(arguments): \(result.stderr)")
            #expect(result.stdout.isEmpty)
        }
    }
}
