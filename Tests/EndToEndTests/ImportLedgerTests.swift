import Foundation
import Testing

/// `push --record-import` and `airlock history` against the real docker-registry: the ledger
/// records each import's signed envelope, a rollback or a replacement is refused before anything
/// is sent (unless allowed), an entry that does not verify with the trusted keys is reported and
/// never trusted, and history lists the imports oldest first.
@Suite(.enabled(if: Harness.toolsAvailable("docker-registry", "skopeo", "python3", "zstd")))
struct ImportLedgerTests {
    @Test func theRegistryRemembersImportsAndRefusesRollbacks() throws {
        let registry = try TestRegistry(tls: false)
        defer { registry.stop() }
        let packed = try PackedExample.make()
        defer { packed.remove() }
        let dir = packed.example
        let spec = try String(contentsOfFile: "\(dir)/airlock.yaml", encoding: .utf8)
        #expect(try Harness.airlock(["key", "generate", "--out", "attacker"], in: dir).status == 0)
        /// The example packed as another version (and, with `extra`, other content).
        func bundle(_ version: String, other: Bool = false, key: String = "signer.key") throws -> String {
            var text = spec.replacingOccurrences(of: "  version: 1.4.2", with: "  version: \"\(version)\"")
            if other { text = text.replacingOccurrences(of: "created: \"2026-11-01T00:00:00Z\"", with: "created: \"2026-11-02T00:00:00Z\"") }
            try text.write(toFile: "\(dir)/airlock.yaml", atomically: true, encoding: .utf8)
            let output = "v\(version)\(other ? "-other" : "")-\(key.prefix(3)).tar.zst"
            let pack = try Harness.airlock(["pack", "-q", "--key", key, "-o", output], in: dir)
            try #require(pack.status == 0, "\(pack.stderr)")
            return output
        }
        func push(_ file: String, _ extra: [String] = [], key: String = "signer.pub") throws -> Harness.Output {
            try Harness.airlock(["push", file, "--registry", "\(registry.host)/site", "--plain-http", registry.host, "--key", key,
                                 "--config-dir", "cfg", "-q", "--record-import", "--output", "json"] + extra, in: dir)
        }
        let (v10, v11, v11other) = (try bundle("1.0.0"), try bundle("1.1.0"), try bundle("1.1.0", other: true))
        let first = try push(v10)
        try #require(first.status == 0, "\(first.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: first.data) as? [String: Any])
        #expect(report["ledger"] as? String == "\(registry.host)/site/airlock/imports:platform-1.0.0")
        #expect(try push(v11).status == 0)

        let blobs = registry.storedBlobs()
        let rollback = try push(v10)
        #expect(rollback.status == 1 && rollback.stderr.contains("refusing a rollback: platform 1.1.0 was imported") && rollback.stderr.contains("--allow-downgrade"),
                "\(rollback.stderr)")
        #expect(registry.storedBlobs() == blobs, "nothing was sent")
        let replace = try push(v11other)
        #expect(replace.status == 1 && replace.stderr.contains("refusing a replacement: platform 1.1.0"), "\(replace.stderr)")
        #expect(try push(v11other, ["--allow-replace"]).status == 0)
        #expect(try push(v10, ["--allow-downgrade"]).status == 0)
        #expect(try push(v10, ["--allow-downgrade"]).status == 0, "a re-run of a recorded import is not recorded twice")

        // An entry signed by a key the site does not trust: reported, never trusted.
        let forged = try bundle("9.9.9", key: "attacker.key")
        #expect(try push(forged, key: "attacker.pub").status == 0)
        let v12 = try bundle("1.2.0")
        let later = try push(v12)
        #expect(later.status == 0 && later.stderr.contains("platform-9.9.9 does not verify with the trusted keys"), "\(later.stderr)")

        let history = try Harness.airlock(["history", "--registry", "\(registry.host)/site", "--plain-http", registry.host, "--key", "signer.pub",
                                           "--output", "json"], in: dir)
        #expect(history.status == 1, "an entry does not verify: \(history.stderr)")
        let listed = try #require(try JSONSerialization.jsonObject(with: history.data) as? [String: Any])
        let imports = try #require(listed["imports"] as? [[String: Any]])
        #expect(imports.compactMap { $0["version"] as? String } == ["1.0.0", "1.1.0", "9.9.9", "1.2.0"],
                "oldest first, one entry per version (1.1.0 replaced later, 1.0.0 not recorded again): \(imports)")
        #expect(imports.filter { $0["verified"] as? Bool == false }.compactMap { $0["version"] as? String } == ["9.9.9"])
        // The entry is the envelope itself: its signature still verifies, with the stock tools' recipe input.
        let tags = try Harness.run(["skopeo", "list-tags", "--tls-verify=false", "docker://\(registry.host)/site/airlock/imports"]).stdout
        #expect(tags.contains("platform-1.2.0"), "\(tags)")

        // audit from the ledger alone: every tag traced to a verified import; one pushed by hand is not.
        let audit = try Harness.airlock(["audit", "--registry", "\(registry.host)/site", "--plain-http", registry.host, "--key", "signer.pub",
                                         "--output", "json"], in: dir)
        #expect(audit.status == 0, "\(audit.stdout) \(audit.stderr)")
        let other = try Harness.makeExample(in: try Harness.temporaryDirectory("rogue"), dockerArchive: false, attestations: true)
        let copy = try Harness.run(["skopeo", "copy", "--quiet", "--all", "--dest-tls-verify=false", "oci:\(other)/build/oci:multi-1.4.2",
                                    "docker://\(registry.host)/site/rogue:1"])
        try #require(copy.status == 0, "\(copy.stderr)")
        let rogue = try Harness.airlock(["audit", "--registry", "\(registry.host)/site", "--plain-http", registry.host, "--key", "signer.pub"], in: dir)
        #expect(rogue.status == 1 && rogue.stdout.contains("site/rogue:1"), "\(rogue.stdout) \(rogue.stderr)")
    }
}
