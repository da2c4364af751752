import Foundation
import TestSupport
import Testing

/// The other way round a delta: no earlier bundle on the connected side, but an inventory of the
/// private registry, taken inside (`airlock inventory`) and carried out, which the next pack leaves
/// out (`pack --since INVENTORY`). Checked against real docker-registries and skopeo.
@Suite(.removesTemporaryFolders, .needs(.dockerRegistry, .skopeo, .zstd, .python3))
struct InventoryJourneyTests {
    @Test func aDeltaPackedAgainstTheRegistrysInventoryCarriesOnlyWhatTheRegistryLacks() throws {
        // Release 1 is in the registry under site/; release 2's new app layers are there too, but
        // only in another repository (other/app), which release 2's push does not name.
        let releases = try DeltaBundleJourneyTests.Releases.make()
        let root = releases.root
        let two = "\(root)/two/example"
        let env = ["AIRLOCK_CACHE": "\(root)/.cache"]
        let registry = try TestRegistry(tls: false)
        defer { registry.stop() }
        let pushed = try Harness.airlock(
            [
                "push", "v1.tar.zst", "--registry", "\(registry.host)/site", "--plain-http", registry.host,
                "--key", "signer.pub", "--config-dir", "cfg-1", "-q", "--output", "json",
            ],
            in: root
        )
        try #require(pushed.status == 0, "\(pushed.stderr)")
        let seeded = try Harness.run([
            "skopeo", "copy", "--quiet", "--dest-tls-verify=false", "oci:\(two)/build/oci:app-1.4.2",
            "docker://\(registry.host)/other/app:2",
        ])
        try #require(seeded.status == 0, "\(seeded.stderr)")

        // The inventory lists every repository, tag and blob; twice taken, the same bytes.
        func inventory(_ extra: [String], out: String) throws -> Harness.Output {
            try Harness.airlock(
                ["inventory", "--plain-http", registry.host, "-o", out, "-q"] + extra,
                in: root,
                environment: ["SOURCE_DATE_EPOCH": "1764579600"]
            )
        }
        let taken = try inventory(["--registry", registry.host, "--output", "json"], out: "inventory.json")
        try #require(taken.status == 0, "\(taken.stderr)")
        #expect(try inventory(["--registry", registry.host], out: "again.json").status == 0)
        #expect(
            try Data(contentsOf: URL(fileURLWithPath: "\(root)/inventory.json"))
                == Data(contentsOf: URL(fileURLWithPath: "\(root)/again.json"))
        )
        let file = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(root)/inventory.json"))) as? [String: Any]
        )
        #expect(file["kind"] as? String == "RegistryInventory" && file["created"] as? String == "2025-12-01T09:00:00Z", "\(file)")
        let repositories = try #require(file["repositories"] as? [[String: Any]])
        let names = repositories.compactMap { $0["name"] as? String }
        #expect(names.contains("site/team/app") && names.contains("other/app"), "\(names)")
        let appDigest = try #require(try registryDigest("\(registry.host)/site/team/app:1.4.2"))
        #expect((repositories.first { $0["name"] as? String == "site/team/app" }?["tags"] as? [String: String])?["1.4.2"] == appDigest)
        let blobs = try #require(file["blobs"] as? [[String: Any]])
        let listed = Dictionary(
            blobs.compactMap { blob in (blob["digest"] as? String).map { ($0, blob["repository"] as? String ?? "") } },
            uniquingKeysWith: { first, _ in first }
        )
        let v1Layers = try layers(of: releases.v1)
        #expect(v1Layers.isSubset(of: Set(listed.keys)), "every layer release 1 pushed is listed")
        let summary = try #require(try JSONSerialization.jsonObject(with: taken.data) as? [String: Any])
        #expect(summary["blobs"] as? Int == blobs.count && summary["repositories"] as? Int == repositories.count, "\(summary)")

        // Packed against it, release 2 carries no layer at all: every one is in the registry.
        let delta = try Harness.run(
            [
                Harness.airlock, "pack", "-q", "--key", "\(root)/signer.key", "-o", "\(root)/v2-inventory.tar.zst",
                "--since", "\(root)/inventory.json", "--output", "json",
            ],
            in: two,
            environment: env
        )
        try #require(delta.status == 0, "\(delta.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: delta.data) as? [String: Any])
        let base = try #require(report["base"] as? [String: Any])
        #expect(base["registry"] as? String == registry.host, "\(base)")
        let leftOut = try #require(base["blobs"] as? [[String: Any]])
        let v2Layers = try layers(of: releases.v2)
        let newLayers = v2Layers.subtracting(v1Layers)
        #expect(Set(leftOut.compactMap { $0["digest"] as? String }) == v2Layers, "every layer of release 2 is left out")
        let hints = Dictionary(
            leftOut.compactMap { blob in (blob["digest"] as? String).map { ($0, blob["repository"] as? String ?? "") } },
            uniquingKeysWith: { first, _ in first }
        )
        #expect(
            !newLayers.isEmpty && newLayers.allSatisfy { hints[$0] == "other/app" },
            "new layers are mounted from where the inventory saw them: \(hints)"
        )
        #expect(try layers(of: "\(root)/v2-inventory.tar.zst").isEmpty, "no layer travels")
        let verify = try Harness.airlock(["verify", "v2-inventory.tar.zst", "--key", "signer.pub"], in: root)
        #expect(
            verify.status == 0 && verify.stdout.contains("delta: packed against the inventory of \(registry.host) (2025-12-01T09:00:00Z)"),
            "\(verify.stdout) \(verify.stderr)"
        )

        // Pushed into that registry: present layers skipped, the others mounted from other/app.
        let delivered = try Harness.airlock(
            [
                "push", "v2-inventory.tar.zst", "--registry", "\(registry.host)/site", "--plain-http", registry.host,
                "--key", "signer.pub", "--config-dir", "cfg-2", "-q", "--output", "json",
            ],
            in: root
        )
        try #require(delivered.status == 0, "\(delivered.stderr)")
        let pushReport = try #require(try JSONSerialization.jsonObject(with: delivered.data) as? [String: Any])
        let counts = try #require(pushReport["blobs"] as? [String: Any])
        #expect(counts["mounted"] as? Int ?? 0 >= newLayers.count, "\(counts)")
        for image in try #require(pushReport["images"] as? [[String: String]]) where image["kind"] == "image" {
            let target = try #require(image["target"])
            let copy = try Harness.run([
                "skopeo", "copy", "--quiet", "--all", "--src-tls-verify=false", "docker://\(target)",
                "oci:\(root)/pulled:\(UUID().uuidString.prefix(6))",
            ])
            #expect(copy.status == 0, "\(target): every layer is in the registry: \(copy.stderr)")
            #expect(try registryDigest(target) == image["digest"])
        }

        // Anywhere else it is refused in one line, before any tag; nor can it be unpacked or served alone.
        let elsewhere = try TestRegistry(tls: false)
        defer { elsewhere.stop() }
        let refused = try Harness.airlock(
            [
                "push", "v2-inventory.tar.zst", "--registry", "\(elsewhere.host)/site", "--plain-http", elsewhere.host,
                "--key", "signer.pub", "--config-dir", "cfg-3", "-q",
            ],
            in: root
        )
        #expect(
            refused.status == 2 && refused.stderr.contains("the inventory of \(registry.host) (2025-12-01T09:00:00Z) listed it")
                && refused.stderr.contains("push into \(registry.host)"),
            "\(refused.stderr)"
        )
        #expect(refused.stderr.split(separator: "\n").count == 1, "\(refused.stderr)")
        #expect(try elsewhere.tags("site/team/app").isEmpty)
        let unpack = try Harness.airlock(["unpack", "v2-inventory.tar.zst", "-o", "u2", "--key", "signer.pub"], in: root)
        #expect(
            unpack.status == 2 && unpack.stderr.contains("push it into \(registry.host)")
                && !FileManager.default.fileExists(atPath: "\(root)/u2"),
            "\(unpack.stderr)"
        )
        let serve = try Harness.airlock(["serve", "v2-inventory.tar.zst", "--key", "signer.pub", "--listen", "127.0.0.1:0"], in: root)
        #expect(serve.status == 2 && serve.stderr.contains("serve cannot answer for"), "\(serve.stderr)")
    }

    @Test func anInventoryOfNamedRepositoriesUnderAPrefixAndWhatItRefuses() throws {
        let root = try Harness.temporaryDirectory()
        let example = try Harness.makeExample(in: root, dockerArchive: false)
        let registry = try TestRegistry(tls: false)
        defer { registry.stop() }
        for target in ["site/team/app:1", "site/team/app:2", "site/tools/cli:1", "elsewhere/app:1"] {
            let seed = try Harness.run([
                "skopeo", "copy", "--quiet", "--dest-tls-verify=false", "oci:\(example)/build/oci:app-1.4.2",
                "docker://\(registry.host)/\(target)",
            ])
            try #require(seed.status == 0, "\(seed.stderr)")
        }
        func inventory(_ arguments: [String]) throws -> (Harness.Output, [String: Any]?) {
            let result = try Harness.airlock(["inventory", "--plain-http", registry.host, "-o", "inv.json", "-q"] + arguments, in: root)
            let file = try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(root)/inv.json"))) as? [String: Any]
            return (result, file)
        }
        func names(_ file: [String: Any]?) -> [String] {
            (file?["repositories"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        }

        let (underPrefix, prefixed) = try inventory(["--registry", "\(registry.host)/site"])
        #expect(
            underPrefix.status == 0 && names(prefixed) == ["site/team/app", "site/tools/cli"],
            "\(underPrefix.stderr) \(names(prefixed))"
        )
        let tags = (prefixed?["repositories"] as? [[String: Any]])?.first?["tags"] as? [String: String]
        #expect(tags?.keys.sorted() == ["1", "2"] && Set(tags?.values.map { $0 } ?? []).count == 1, "\(tags ?? [:])")
        // A blob several repositories hold is listed once, with the first of them by name.
        let blobs = prefixed?["blobs"] as? [[String: Any]] ?? []
        #expect(!blobs.isEmpty && blobs.allSatisfy { $0["repository"] as? String == "site/team/app" }, "\(blobs)")

        let (named, namedFile) = try inventory(["--registry", "\(registry.host)/site", "--repository", "tools/cli"])
        #expect(named.status == 0 && names(namedFile) == ["site/tools/cli"], "\(named.stderr)")
        let diff = try Harness.airlock(["diff", "inv.json", "inv.json"], in: root)
        #expect(
            diff.status == 2 && diff.stderr.contains("inv.json is a registry inventory (airlock inventory), not a bundle"),
            "\(diff.stderr)"
        )
        try FileManager.default.removeItem(atPath: "\(root)/inv.json")
        let (missing, _) = try inventory(["--registry", "\(registry.host)/site", "--repository", "no/such"])
        #expect(missing.status == 2 && missing.stderr.contains("has no repository site/no/such"), "\(missing.stderr)")
        #expect(
            missing.stderr.split(separator: "\n").count == 1 && !FileManager.default.fileExists(atPath: "\(root)/inv.json"),
            "nothing written"
        )

        // A file that is not an inventory, or an altered one, is refused by pack --since in one line.
        try
            (#"{"apiVersion": "airlock/v1", "kind": "RegistryInventory", "registry": "x", "created": "now", "repositories": [], "#
            + #""blobs": [{"digest": "md5:abc", "size": 1, "repository": "a"}]}"#)
            .write(toFile: "\(root)/bad.json", atomically: true, encoding: .utf8)
        #expect(try Harness.airlock(["key", "generate", "--out", "signer"], in: root).status == 0)
        let bad = try Harness.airlock(
            ["pack", "-q", "--key", "\(root)/signer.key", "-o", "\(root)/x.tar.zst", "--since", "\(root)/bad.json"],
            in: example
        )
        #expect(
            bad.status == 2 && bad.stderr.contains("--since: \(root)/bad.json lists a blob \"md5:abc\"")
                && !FileManager.default.fileExists(atPath: "\(root)/x.tar.zst"),
            "\(bad.stderr)"
        )
    }

    /// The layers (`sha256:…`) a bundle carries: every layer its manifests reference whose blob
    /// is in the bundle (unpacked with stock tar).
    private func layers(of bundle: String) throws -> Set<String> {
        let folder = try Harness.temporaryDirectory()
        let extracted = try Harness.run(["tar", "--zstd", "-xf", bundle, "-C", folder, "oci"])
        try #require(extracted.status == 0, "\(extracted.stderr)")
        func blob(_ digest: String) -> String { "\(folder)/oci/blobs/sha256/\(digest.dropFirst("sha256:".count))" }
        func document(_ path: String) throws -> [String: Any] {
            try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        }
        var found: Set<String> = []
        var pending = try document("\(folder)/oci/index.json")["manifests"] as? [[String: Any]] ?? []
        while let descriptor = pending.popLast() {
            guard let digest = descriptor["digest"] as? String else { continue }
            let manifest = try document(blob(digest))
            pending += manifest["manifests"] as? [[String: Any]] ?? []
            for layer in manifest["layers"] as? [[String: Any]] ?? [] {
                if let digest = layer["digest"] as? String, FileManager.default.fileExists(atPath: blob(digest)) { found.insert(digest) }
            }
        }
        return found
    }

    private func registryDigest(_ reference: String) throws -> String? {
        let raw = try Harness.run(["skopeo", "inspect", "--raw", "--tls-verify=false", "docker://\(reference)"])
        guard raw.status == 0 else { return nil }
        return try "sha256:" + Harness.run(["sha256sum"], stdin: raw.data).stdout.prefix(64)
    }
}
