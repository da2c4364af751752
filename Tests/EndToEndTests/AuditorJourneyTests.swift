import Foundation
import Testing

/// The auditor's journey: verify a bundle months later with openssl, tar, zstd, sha256sum and
/// python3 only, by the recipe the README prints.
@Suite(.enabled(if: Harness.toolsAvailable("tar", "zstd", "openssl", "skopeo", "python3", "sha256sum")))
struct AuditorJourneyTests {
    static let recipe = "\(Harness.packageRoot)/scripts/audit-verify.sh"

    @Test func theReadmePrintsExactlyTheRecipeTheTestsRun() throws {
        let readme = try String(contentsOfFile: "\(Harness.packageRoot)/README.md", encoding: .utf8)
        let script = try String(contentsOfFile: Self.recipe, encoding: .utf8)
        #expect(readme.contains(script), "README.md must contain scripts/audit-verify.sh verbatim")
    }

    @Test func theStockToolRecipeVerifiesAGoodBundleAndRejectsTamperedOnes() throws {
        let packed = try PackedExample.make()
        defer { packed.remove() }
        let good = try Harness.run(["bash", Self.recipe, packed.bundle, "signer.pub"], in: packed.example)
        #expect(good.status == 0, "\(good.stderr)")
        #expect(good.stdout.hasPrefix("OK: signature verified"))

        let layer = try #require(try Harness.run(["tar", "--zstd", "-tf", packed.bundle]).stdout.split(separator: "\n").last.map(String.init))
        for recipe in [["flip", layer], ["extra"], ["flip", "statement.intoto.json"]] {
            let bad = "\(packed.example)/bad.tar.zst"
            let craft = try Harness.run(["python3", "\(Harness.packageRoot)/Tests/Fixtures/hostile.py", recipe[0], packed.bundle, bad] + recipe.dropFirst())
            try #require(craft.status == 0, "\(craft.stderr)")
            let result = try Harness.run(["bash", Self.recipe, bad, "signer.pub"], in: packed.example)
            #expect(result.status != 0, "\(recipe) must fail the recipe")
            #expect(result.stderr.contains("FAILED"), "\(recipe): \(result.stderr)")
        }
        // The detached envelope lets a gate check the file before opening it.
        let detached = try Harness.run(["python3", "-c", """
            import base64, json, sys
            e = json.load(open(sys.argv[1]))
            print(json.loads(base64.b64decode(e["payload"]))["subject"][0]["digest"]["sha256"])
            """, packed.bundle + ".intoto.json"])
        #expect(detached.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == (try Harness.sha256(ofFile: packed.bundle)))
    }
}
