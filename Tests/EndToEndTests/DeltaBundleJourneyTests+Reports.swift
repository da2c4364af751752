import Foundation
import TestSupport
import Testing

/// What a delta changes, said before anything moves: diff, and a push's dry run.
extension DeltaBundleJourneyTests {
    @Test func diffShowsWhatChangedAndWhatADeltaCarries() throws {
        let releases = try Releases.make()
        let root = releases.root
        let result = try Harness.airlock(["diff", releases.v1, releases.v2, "--key", "signer.pub", "--output", "json"], in: root)
        try #require(result.status == 0, "\(result.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: result.data) as? [String: Any])
        let diff = try #require(report["diff"] as? [String: Any])
        #expect(report["identical"] as? Bool == false && diff["verified"] as? Bool == true)
        let changes = try #require(diff["changes"] as? [[String: Any]])
        let app = try #require(
            changes.first { $0["kind"] as? String == "image" && $0["name"] as? String == "registry.example.com/team/app:1.4.2" }
        )
        #expect(app["change"] as? String == "changed", "\(changes)")
        #expect(
            !changes.contains { $0["kind"] as? String == "chart" || $0["name"] as? String == "registry.example.com/team/multi:1.4.2" },
            "only what changed is listed: \(changes)"
        )
        // "new" blobs are exactly what the delta carries beyond release 1.
        let v1 = try releases.entries(releases.v1)
        let carried = try releases.entries(releases.delta).filter { $0.hasPrefix("oci/blobs/") && !v1.contains($0) }
        #expect((diff["newBlobs"] as? [String: Any])?["blobs"] as? Int == carried.count, "\(diff)")

        let same = try Harness.airlock(["diff", releases.v2, releases.v2 + ".intoto.json", "--output", "json"], in: root)
        let sameReport = try #require(try JSONSerialization.jsonObject(with: same.data) as? [String: Any])
        #expect(same.status == 0 && sameReport["identical"] as? Bool == true, "\(same.stdout) \(same.stderr)")
        let text = try Harness.airlock(["diff", releases.v1, releases.delta], in: root)
        #expect(
            text.stdout.hasPrefix("NOT VERIFIED") && text.stdout.contains("~ image registry.example.com/team/app:1.4.2"),
            "\(text.stdout)"
        )

        #expect(try Harness.airlock(["key", "generate", "--out", "stranger"], in: root).status == 0)
        let untrusted = try Harness.airlock(["diff", releases.v1, releases.v2, "--key", "stranger.pub"], in: root)
        #expect(untrusted.status == 1 && untrusted.stderr.contains("\(releases.v1): signed only by unknown key(s)"), "\(untrusted.stderr)")
    }

    /// `push --dry-run`: what a push would do, from the registry's own answers, and nothing sent:
    /// its counts are those of the real push that follows.
    @Test func aDryRunPushSaysWhatWouldChangeAndSendsNothing() throws {
        let releases = try Releases.make()
        let root = releases.root
        let registry = try TestRegistry(tls: false)
        defer { registry.stop() }
        func push(_ bundle: String, dryRun: Bool, prefix: String = "site") throws -> (Harness.Output, [String: Any]) {
            let result = try Harness.airlock(
                [
                    "push", bundle, "--registry", "\(registry.host)/\(prefix)", "--plain-http", registry.host, "--key", "signer.pub",
                    "--config-dir", "cfg-\(prefix)", "-q", "--output", "json",
                ] + (dryRun ? ["--dry-run"] : []),
                in: root
            )
            return (result, (try? JSONSerialization.jsonObject(with: result.data) as? [String: Any]) ?? [:])
        }
        func counts(_ report: [String: Any]) -> [Int] {
            let blobs = report["blobs"] as? [String: Any] ?? [:]
            return [
                blobs["uploaded"] as? Int ?? -1, blobs["present"] as? Int ?? -1, blobs["mounted"] as? Int ?? -1,
                blobs["bytesSent"] as? Int ?? -1,
                report["manifestsPushed"] as? Int ?? -1, report["manifestsPresent"] as? Int ?? -1,
            ]
        }
        func tags(_ report: [String: Any]) -> [String: [String: Any]] {
            Dictionary(
                (report["tags"] as? [[String: Any]] ?? []).map { ($0["reference"] as? String ?? "", $0) },
                uniquingKeysWith: { first, _ in first }
            )
        }

        // Into an empty registry: every tag new, everything to upload; nothing arrives, no config written.
        let (dry, planned) = try push(releases.v1, dryRun: true)
        try #require(dry.status == 0, "\(dry.stderr)")
        #expect(
            planned["dryRun"] as? Bool == true && tags(planned).values.allSatisfy { $0["change"] as? String == "new" }
                && !tags(planned).isEmpty,
            "\(planned)"
        )
        let tagsBefore = try registry.tags("site/team/app")
        #expect(registry.storedBlobs().isEmpty && tagsBefore.isEmpty && !FileManager.default.fileExists(atPath: "\(root)/cfg-site"))
        let (real, pushed) = try push(releases.v1, dryRun: false)
        try #require(real.status == 0, "\(real.stderr)")
        #expect(counts(planned) == counts(pushed), "the plan is what the push did: \(counts(planned)) vs \(counts(pushed))")

        // Release 2 over it: the app tag moves, the rest is unchanged, only the new layers would go.
        let (_, second) = try push(releases.v2, dryRun: true)
        let app = tags(second)["\(registry.host)/site/team/app:1.4.2"]
        let v1App = (pushed["images"] as? [[String: String]] ?? []).first { $0["source"] == "registry.example.com/team/app:1.4.2" }?[
            "digest"
        ]
        #expect(app?["change"] as? String == "moved" && app?["current"] as? String == v1App && v1App != nil, "\(tags(second))")
        #expect(tags(second)["\(registry.host)/site/team/multi:1.4.2"]?["change"] as? String == "unchanged")
        let text = try Harness.airlock(
            [
                "push", releases.v2, "--registry", "\(registry.host)/site", "--plain-http", registry.host, "--key", "signer.pub",
                "--dry-run",
            ],
            in: root
        )
        #expect(
            text.stdout.contains("dry run: nothing was sent") && text.stdout.contains("team/app:1.4.2: MOVED \(v1App ?? "?") → "),
            "\(text.stdout)"
        )
        let (_, pushedSecond) = try push(releases.v2, dryRun: false)
        #expect(counts(second) == counts(pushedSecond), "\(counts(second)) vs \(counts(pushedSecond))")

        // A delta's left-out layers are checked as a push checks them: refused where they are missing.
        let (elsewhere, _) = try push(releases.delta, dryRun: true, prefix: "fresh")
        #expect(elsewhere.status == 2 && elsewhere.stderr.contains("is left out of this delta bundle"), "\(elsewhere.stderr)")
        #expect(try push(releases.delta, dryRun: true).0.status == 0)
    }
}
