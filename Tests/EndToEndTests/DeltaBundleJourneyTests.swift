import Foundation
import TestSupport
import Testing

/// A slow link: the next release goes across as a delta (`pack --since` the previous bundle),
/// carrying only the layers the previous one did not, and is pushed into the registry that already
/// holds the previous release. Checked against a real docker-registry and skopeo.
@Suite(.removesTemporaryFolders, .needs(.dockerRegistry, .skopeo, .zstd, .python3))
struct DeltaBundleJourneyTests {
    /// Release 1: the example; release 2: the same example with two more layers in the app image
    /// (make-example.py is reproducible, so every other blob is the same).
    struct Releases {
        let root: String
        let v1: String
        let v2: String
        let delta: String
        let report: [String: Any]

        static func make() throws -> Releases {
            let root = try Harness.temporaryDirectory()
            let one = try Harness.makeExample(in: "\(root)/one", dockerArchive: false)
            let two = try Harness.makeExample(in: "\(root)/two", dockerArchive: false, layerMB: 1)
            // Release 2 is a new version: the registry's import ledger refuses other content under an old one.
            let spec = try String(contentsOfFile: "\(two)/airlock.yaml", encoding: .utf8)
            try spec.replacingOccurrences(of: "  version: 1.4.2\n", with: "  version: 1.5.0\n").write(
                toFile: "\(two)/airlock.yaml",
                atomically: true,
                encoding: .utf8
            )
            #expect(try Harness.airlock(["key", "generate", "--out", "\(root)/signer"], in: root).status == 0)
            let env = ["AIRLOCK_CACHE": "\(root)/.cache"]
            let first = try Harness.run(
                [Harness.airlock, "pack", "-q", "--key", "\(root)/signer.key", "-o", "\(root)/v1.tar.zst"],
                in: one,
                environment: env
            )
            try #require(first.status == 0, "\(first.stderr)")
            let full = try Harness.run(
                [Harness.airlock, "pack", "-q", "--key", "\(root)/signer.key", "-o", "\(root)/v2.tar.zst"],
                in: two,
                environment: env
            )
            try #require(full.status == 0, "\(full.stderr)")
            let delta = try Harness.run(
                [
                    Harness.airlock, "pack", "-q", "--key", "\(root)/signer.key", "-o", "\(root)/v2-delta.tar.zst",
                    "--since", "\(root)/v1.tar.zst", "--output", "json",
                ],
                in: two,
                environment: env
            )
            try #require(delta.status == 0, "\(delta.stderr)")
            let report = try #require(try JSONSerialization.jsonObject(with: delta.data) as? [String: Any])
            return Releases(
                root: root,
                v1: "\(root)/v1.tar.zst",
                v2: "\(root)/v2.tar.zst",
                delta: "\(root)/v2-delta.tar.zst",
                report: report
            )
        }

        func remove() { try? FileManager.default.removeItem(atPath: root) }

        func entries(_ bundle: String) throws -> Set<String> {
            Set(try Harness.run(["tar", "--zstd", "-tf", bundle]).stdout.split(separator: "\n").map(String.init))
        }
    }

    @Test func theDeltaCarriesOnlyNewLayersAndVerifiesAgainstWhatItLeavesOut() throws {
        let releases = try Releases.make()
        let root = releases.root
        let base = try #require(releases.report["base"] as? [String: Any])
        let leftOut = try #require(base["blobs"] as? [[String: Any]]).compactMap { $0["digest"] as? String }
        #expect(base["name"] as? String == "platform" && !leftOut.isEmpty, "\(base)")

        // Exactly the layers v1 carried are missing from the delta; everything else v2 holds is there.
        let v1 = try releases.entries(releases.v1)
        let v2 = try releases.entries(releases.v2)
        let delta = try releases.entries(releases.delta)
        let missing = v2.subtracting(delta)
        #expect(missing == Set(leftOut.map { "oci/blobs/sha256/" + $0.dropFirst("sha256:".count) }), "\(missing) vs \(leftOut)")
        #expect(missing.isSubset(of: v1) && !v2.subtracting(v1).isSubset(of: missing), "new layers travel, old ones stay home")
        #expect(delta.isSubset(of: v2))

        let verify = try Harness.airlock(["verify", releases.delta, "--key", "signer.pub"], in: root)
        #expect(
            verify.status == 0 && verify.stdout.contains("delta: builds on platform 1.4.2 and leaves out \(leftOut.count) layer(s)"),
            "\(verify.stdout) \(verify.stderr)"
        )
        #expect(try Harness.airlock(["inspect", releases.delta], in: root).stdout.contains("delta: builds on platform 1.4.2"))

        // The left-out list is signed: a bundle missing a layer it does not declare still fails.
        let bare = try Harness.airlock(["verify", releases.v2, "--key", "signer.pub"], in: root)
        #expect(bare.status == 0 && !bare.stdout.contains("delta"))

        // Unpack needs the base's folder; with it the layout is complete (skopeo reads every layer).
        let refused = try Harness.airlock(["unpack", releases.delta, "-o", "u2", "--key", "signer.pub"], in: root)
        #expect(
            refused.status == 2 && refused.stderr.contains("give --base with the bundle platform 1.4.2 or the folder")
                && !FileManager.default.fileExists(atPath: "\(root)/u2"),
            "\(refused.stderr)"
        )
        // The base may be the earlier bundle itself, read through its seek index.
        let fromBundle = try Harness.airlock(
            ["unpack", releases.delta, "-o", "u2b", "--key", "signer.pub", "--base", releases.v1],
            in: root
        )
        #expect(fromBundle.status == 0, "\(fromBundle.stderr)")
        let copied = try Harness.run([
            "skopeo", "copy", "--quiet", "oci:\(root)/u2b/oci:registry.example.com/team/app:1.4.2", "oci:\(root)/copied-b:app",
        ])
        #expect(copied.status == 0, "\(copied.stderr)")
        // A base that does not carry them (here the delta itself) is refused, and nothing is left.
        let wrongBase = try Harness.airlock(
            ["unpack", releases.delta, "-o", "u2c", "--key", "signer.pub", "--base", releases.delta],
            in: root
        )
        #expect(
            wrongBase.status == 1 && wrongBase.stderr.contains("does not carry sha256:")
                && !FileManager.default.fileExists(atPath: "\(root)/u2c"),
            "\(wrongBase.stderr)"
        )
        #expect(try Harness.airlock(["unpack", releases.v1, "-o", "u1", "--key", "signer.pub"], in: root).status == 0)
        let unpacked = try Harness.airlock(["unpack", releases.delta, "-o", "u2", "--key", "signer.pub", "--base", "u1"], in: root)
        #expect(unpacked.status == 0, "\(unpacked.stderr)")
        let copy = try Harness.run([
            "skopeo", "copy", "--quiet", "oci:\(root)/u2/oci:registry.example.com/team/app:1.4.2", "oci:\(root)/copied:app",
        ])
        #expect(copy.status == 0, "\(copy.stderr)")
        // A base folder whose layer was altered is refused, naming it.
        let layer = "\(root)/u1/oci/blobs/sha256/\(leftOut[0].dropFirst("sha256:".count))"
        try Data("altered".utf8).write(to: URL(fileURLWithPath: layer))
        let altered = try Harness.airlock(["unpack", releases.delta, "-o", "u3", "--key", "signer.pub", "--base", "u1"], in: root)
        #expect(altered.status == 1 && altered.stderr.contains("does not match the digest the delta bundle signs"), "\(altered.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(root)/u3"))

        // serve cannot answer for layers it does not have: it says so and does not start.
        let serve = try Harness.airlock(["serve", releases.delta, "--key", "signer.pub", "--listen", "127.0.0.1:0"], in: root)
        #expect(serve.status == 2 && serve.stderr.contains("serve cannot answer for"), "\(serve.stderr)")
    }

    @Test func theDeltaPushesWhereTheBaseIsOrBesideTheBaseBundleAndNowhereElse() throws {
        let releases = try Releases.make()
        let root = releases.root
        let registry = try TestRegistry(tls: false)
        defer { registry.stop() }
        func push(_ bundle: String, _ prefix: String) throws -> Harness.Output {
            try Harness.airlock(
                [
                    "push", bundle, "--registry", "\(registry.host)/\(prefix)", "--plain-http", registry.host,
                    "--key", "signer.pub", "--config-dir", "cfg-\(prefix)", "--output", "json",
                ],
                in: root
            )
        }
        #expect(try push(releases.v1, "site").status == 0)
        let delta = try push(releases.delta, "site")
        try #require(delta.status == 0, "\(delta.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: delta.data) as? [String: Any])
        let images = try #require(report["images"] as? [[String: String]])
        for image in images where image["kind"] == "image" {
            let target = try #require(image["target"])
            let copy = try Harness.run([
                "skopeo", "copy", "--quiet", "--all", "--src-tls-verify=false", "docker://\(target)",
                "oci:\(root)/pulled:\(UUID().uuidString.prefix(6))",
            ])
            #expect(copy.status == 0, "\(target): every layer is in the registry: \(copy.stderr)")
            let raw = try Harness.run(["skopeo", "inspect", "--raw", "--tls-verify=false", "docker://\(target)"])
            #expect(try "sha256:" + Harness.run(["sha256sum"], stdin: raw.data).stdout.prefix(64) == image["digest"] ?? "")
        }

        // Into a registry that never saw release 1: refused in one line before any manifest or tag.
        let elsewhere = try push(releases.delta, "fresh")
        #expect(
            elsewhere.status == 2 && elsewhere.stderr.contains("is left out of this delta bundle (it builds on platform 1.4.2)")
                && elsewhere.stderr.contains("push platform 1.4.2 there first"),
            "\(elsewhere.stderr)"
        )
        #expect(
            elsewhere.stderr.split(separator: "\n").filter { !$0.hasPrefix("{") }.count == 1,
            "one line besides the progress events: \(elsewhere.stderr)"
        )
        #expect(try registry.tags("fresh/team/app").isEmpty, "no tag may point at missing layers")

        // Given the bundle it builds on, the delta pushes anywhere: left-out layers come from there.
        let withBase = try Harness.airlock(
            [
                "push", releases.delta, "--base", releases.v1, "--registry", "\(registry.host)/based",
                "--plain-http", registry.host, "--key", "signer.pub", "--config-dir", "cfg-based", "-q",
            ],
            in: root
        )
        #expect(withBase.status == 0, "\(withBase.stderr)")
        let based = try Harness.run([
            "skopeo", "copy", "--quiet", "--src-tls-verify=false", "docker://\(registry.host)/based/team/app:1.4.2",
            "oci:\(root)/based:app",
        ])
        #expect(based.status == 0, "every layer arrived: \(based.stderr)")
        let notDelta = try Harness.airlock(
            [
                "push", releases.v2, "--base", releases.v1, "--registry", "\(registry.host)/x",
                "--plain-http", registry.host, "--key", "signer.pub", "-q",
            ],
            in: root
        )
        #expect(notDelta.status == 2 && notDelta.stderr.contains("is not a delta bundle"), "\(notDelta.stderr)")

        // So does serve: the delta with its base answers for every layer.
        let serve = try ServeProcess([releases.delta, "--base", releases.v1, "--key", "signer.pub", "--output", "json"], in: root)
        let served = try #require(try serve.listening()["images"] as? [[String: String]])
        let target = try #require(served.first { $0["source"] == "registry.example.com/team/app:1.4.2" }?["target"])
        let fromServe = try Harness.run([
            "skopeo", "copy", "--quiet", "--src-tls-verify=false", "docker://\(target)", "oci:\(root)/served:app",
        ])
        #expect(fromServe.status == 0, "\(fromServe.stderr)")
        #expect(serve.stop() == 0)

        // Unpacked with --base, the delta is complete: it pushes anywhere, left-out layers included.
        #expect(try Harness.airlock(["unpack", releases.v1, "-o", "u1", "--key", "signer.pub"], in: root).status == 0)
        #expect(try Harness.airlock(["unpack", releases.delta, "-o", "u2", "--key", "signer.pub", "--base", "u1"], in: root).status == 0)
        let folder = try push("\(root)/u2", "fresh")
        #expect(folder.status == 0, "\(folder.stderr)")
        let app = try #require(images.first { $0["source"] == "registry.example.com/team/app:1.4.2" })
        let copy = try Harness.run([
            "skopeo", "copy", "--quiet", "--src-tls-verify=false", "docker://\(registry.host)/fresh/team/app:1.4.2",
            "oci:\(root)/fresh:app",
        ])
        let tags = try registry.tags("fresh/team/app")
        #expect(copy.status == 0 && tags == ["1.4.2"], "\(copy.stderr)")
        let raw = try Harness.run(["skopeo", "inspect", "--raw", "--tls-verify=false", "docker://\(registry.host)/fresh/team/app:1.4.2"])
        #expect(try "sha256:" + Harness.run(["sha256sum"], stdin: raw.data).stdout.prefix(64) == app["digest"] ?? "")
    }

    @Test func aDryRunPullsNoLayerAndADeltaPullsOnlyWhatItCarries() throws {
        let root = try Harness.temporaryDirectory()
        let example = try Harness.makeExample(in: root, dockerArchive: false, layerMB: 1)
        let registry = try TestRegistry(tls: false)
        defer { registry.stop() }
        let seed = try Harness.run([
            "skopeo", "copy", "--quiet", "--dest-tls-verify=false", "oci:\(example)/build/oci:app-1.4.2",
            "docker://\(registry.host)/src/app:1",
        ])
        try #require(seed.status == 0, "\(seed.stderr)")
        try """
        apiVersion: airlock/v1\nkind: Bundle\nmetadata: {name: pulled, version: \"1\", created: \
        \"2026-11-01T00:00:00Z\"}\nimages:\n  - ref: \(registry.host)/src/app:1\n
        """
        .write(toFile: "\(root)/airlock.yaml", atomically: true, encoding: .utf8)
        func pack(_ extra: [String], cache: String) throws -> [String: Any] {
            let result = try Harness.airlock(
                ["pack", "-q", "--plain-http", registry.host, "--output", "json"] + extra,
                in: root,
                environment: ["AIRLOCK_CACHE": "\(root)/\(cache)"]
            )
            try #require(result.status == 0, "\(result.stderr)")
            return try #require(try JSONSerialization.jsonObject(with: result.data) as? [String: Any])
        }
        // A dry run resolves and plans from the manifests, pulls no layer and writes nothing.
        let plan = try pack(["-o", "first.tar.zst", "--dry-run", "--split-size", "64K"], cache: "cache-1")
        #expect(plan["dryRun"] as? Bool == true && !FileManager.default.fileExists(atPath: "\(root)/first.tar.zst"))
        let planned = try #require(plan["plan"] as? [String: Any])
        let full = try pack(["-o", "first.tar.zst"], cache: "cache-1")
        let pulled = try #require(full["pulled"] as? [String: Any])
        #expect(
            planned["pullBytes"] as? Int == pulled["bytes"] as? Int && planned["pullBlobs"] as? Int == pulled["blobs"] as? Int,
            "the plan's pulls are the pack's, and the dry run cached none of them: \(planned) \(pulled)"
        )
        #expect(
            (plan["images"] as? [[String: Any]])?.first?["digest"] as? String == (full["images"] as? [[String: Any]])?.first?["digest"]
                as? String
        )
        let size = try #require(full["size"] as? Int)
        #expect(
            planned["bytes"] as? Int ?? 0 <= size + 65_536 && (planned["parts"] as? Int ?? 0) >= (size + 65_535) / 65_536,
            "\(planned), bundle \(size)"
        )
        let delta = try pack(["-o", "second.tar.zst", "--since", "first.tar.zst"], cache: "cache-2")
        let leftOut = try #require((delta["base"] as? [String: Any])?["blobs"] as? [[String: Any]])
        let leftOutBytes = leftOut.reduce(0) { $0 + ($1["size"] as? Int ?? 0) }
        let pulledFull = try #require((full["pulled"] as? [String: Any])?["bytes"] as? Int)
        let pulledDelta = (delta["pulled"] as? [String: Any])?["bytes"] as? Int ?? 0
        #expect(
            leftOut.count >= 3 && pulledDelta + leftOutBytes <= pulledFull,
            "pulled \(pulledDelta) of \(pulledFull), left out \(leftOutBytes)"
        )
    }

}
