import Foundation
import TestSupport
import Testing

/// The builder's journey: airlock.yaml → pack → a bundle stock tools can read.
@Suite(.removesTemporaryFolders, .needs(.tar, .zstd, .openssl, .skopeo, .python3, .sha256sum))
struct BuilderJourneyTests {
    @Test func stockToolsReadTheBundleAndEveryEntryMatchesItsSignedDigest() throws {
        let packed = try PackedExample.make()
        let listing = try Harness.run(["tar", "--zstd", "-tf", packed.bundle])
        #expect(listing.status == 0)
        let names = listing.stdout.split(separator: "\n").map(String.init)
        #expect(names.first == "statement.intoto.json")
        #expect(names.contains("oci/index.json") && names.contains("endpoints/triage-llm.yaml") && names.contains("files/docs/INSTALL.md"))

        let out = "\(packed.root)/extracted"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let extract = try Harness.run(["sh", "-c", "zstd -dc \"$0\" | tar -x -C \"$1\"", packed.bundle, out])
        #expect(extract.status == 0, "\(extract.stderr)")
        let subjects = try packed.subjects()
        #expect(subjects.count == names.count - 1)
        for (name, digest) in subjects {
            #expect(try Harness.sha256(ofFile: "\(out)/\(name)") == digest, "\(name)")
        }
        // Layers come after manifests and configs: a streaming reader meets metadata first.
        let layerIndex = try #require(names.firstIndex { $0.hasPrefix("files/") })
        #expect(names[..<layerIndex].contains("oci/index.json"))
    }

    @Test func ed25519BundlesAreByteIdenticalAcrossFoldersAndCaches() throws {
        let root = try Harness.temporaryDirectory()
        let example = try Harness.makeExample(in: root)
        #expect(try Harness.airlock(["key", "generate", "--out", "\(root)/ed", "--type", "ed25519"], in: root).status == 0)
        var digests: [String] = []
        for run in ["one", "two"] {
            let work = "\(root)/\(run)"
            try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
            let pack = try Harness.airlock(
                ["pack", "-q", "-f", "\(example)/airlock.yaml", "-o", "\(work)/b.tar.zst", "--key", "\(root)/ed.key"],
                in: work,
                environment: ["AIRLOCK_CACHE": "\(work)/cache-\(run)"]
            )
            #expect(pack.status == 0, "\(pack.stderr)")
            digests.append(try Harness.sha256(ofFile: "\(work)/b.tar.zst"))
            digests.append(try Harness.sha256(ofFile: "\(work)/b.tar.zst.intoto.json"))
        }
        #expect(digests[0] == digests[2], "bundles differ")
        #expect(digests[1] == digests[3], "detached envelopes differ")
    }

    @Test func ecdsaBundlesDifferOnlyInSignatureBytes() throws {
        let root = try Harness.temporaryDirectory()
        let example = try Harness.makeExample(in: root)
        #expect(try Harness.airlock(["key", "generate", "--out", "\(root)/ec"], in: root).status == 0)
        var payloads: [String] = []
        var listings: [String] = []
        for run in ["one", "two"] {
            let work = "\(root)/\(run)"
            try FileManager.default.createDirectory(atPath: "\(work)/x", withIntermediateDirectories: true)
            let pack = try Harness.airlock(
                ["pack", "-q", "-f", "\(example)/airlock.yaml", "-o", "\(work)/b.tar.zst", "--key", "\(root)/ec.key"],
                in: work,
                environment: ["AIRLOCK_CACHE": "\(work)/cache"]
            )
            #expect(pack.status == 0, "\(pack.stderr)")
            #expect(try Harness.run(["tar", "--zstd", "-xf", "\(work)/b.tar.zst", "-C", "\(work)/x"]).status == 0)
            let envelope =
                try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(work)/x/statement.intoto.json")))
                as? [String: Any]
            payloads.append(try #require(envelope?["payload"] as? String))
            let sums = try Harness.run([
                "sh", "-c", "cd \"$0\" && find . -type f ! -name statement.intoto.json | sort | xargs sha256sum", "\(work)/x",
            ])
            listings.append(sums.stdout)
        }
        #expect(payloads[0] == payloads[1], "signed statements differ")
        #expect(listings[0] == listings[1] && !listings[0].isEmpty, "entries differ")
    }

    @Test func keysArePKCS8WithPrivateModeAndEncryptedKeysNeedTheirPassphrase() throws {
        let root = try Harness.temporaryDirectory()
        try "correct horse\n".write(toFile: "\(root)/pass", atomically: true, encoding: .utf8)
        let generate = try Harness.airlock(["key", "generate", "--out", "enc", "--passphrase-file", "pass"], in: root)
        #expect(generate.status == 0, "\(generate.stderr)")
        let attributes = try FileManager.default.attributesOfItem(atPath: "\(root)/enc.key")
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect(try String(contentsOfFile: "\(root)/enc.key", encoding: .utf8).contains("BEGIN ENCRYPTED PRIVATE KEY"))
        // openssl reads both files: the key with the passphrase, the public key as PKIX.
        #expect(try Harness.run(["openssl", "pkey", "-in", "\(root)/enc.key", "-passin", "file:\(root)/pass", "-noout"]).status == 0)
        let der = try Harness.run(["sh", "-c", "openssl pkey -pubin -in \"$0\" -outform DER | sha256sum", "\(root)/enc.pub"])
        #expect(generate.stdout.contains(String(der.stdout.prefix(64))), "key id is sha256 of the public key DER")

        let example = try Harness.makeExample(in: root, dockerArchive: false)
        let noPassphrase = try Harness.airlock(["pack", "-q", "--key", "\(root)/enc.key"], in: example)
        #expect(noPassphrase.status == 2)
        #expect(noPassphrase.stderr.contains("encrypted"))
        #expect(!FileManager.default.fileExists(atPath: "\(example)/platform-1.4.2.tar.zst"))
        let withPassphrase = try Harness.airlock(
            ["pack", "-q", "--key", "\(root)/enc.key", "--passphrase-file", "\(root)/pass"],
            in: example
        )
        #expect(withPassphrase.status == 0, "\(withPassphrase.stderr)")
    }

    @Test(arguments: [
        ("images:\n  - layout: ./build/oci\n    selct: app-1.4.2\n", "airlock.yaml:11: images[0]: unknown key \"selct\""),
        ("files:\n  - path: ./docs/MISSING.md\n", "airlock.yaml:10: files[0].path: ./docs/MISSING.md does not exist"),
        (
            "images:\n  - layout: ./build/oci\n    select: app-1.4.2\n    name: Registry.example.com/UPPER:1\n",
            "images[0].name: invalid image reference"
        ),
        ("images:\n  - layout: ./build/oci\n    select: nope\n    name: r.example.com/a:1\n", "no image named \"nope\""),
        (
            "images:\n  - layout: ./build/oci\n    select: app-1.4.2\n    referrers: true\n",
            "airlock.yaml:12: images[0].referrers: referrers: true applies to images pulled with ref:"
        ),
    ])
    func badSpecsFailWithFileAndLineAndLeaveNoBundle(extra: String, expected: String) throws {
        let root = try Harness.temporaryDirectory()
        let example = try Harness.makeExample(in: root, dockerArchive: false)
        let spec =
            "apiVersion: airlock/v1\nkind: Bundle\nmetadata:\n  name: platform\n  version: 1.4.2\n  created: \"2026-11-01T00:00:00Z\"\n\n\n"
            + extra
        try spec.write(toFile: "\(example)/airlock.yaml", atomically: true, encoding: .utf8)
        let pack = try Harness.airlock(["pack", "-q"], in: example)
        #expect(pack.status == 2)
        #expect(pack.stderr.contains(expected), "stderr: \(pack.stderr)")
        #expect(pack.stderr.split(separator: "\n").count == 1, "one line: \(pack.stderr)")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: example).filter { $0.contains("tar.zst") }
        #expect(leftovers.isEmpty)
    }

    @Test func aLiteralCredentialInAnEndpointIsRefusedNamingTheField() throws {
        let root = try Harness.temporaryDirectory()
        let example = try Harness.makeExample(in: root, dockerArchive: false)
        let endpoint = "\(example)/endpoints/triage-llm.yaml"
        let text = try String(contentsOfFile: endpoint, encoding: .utf8)
            .replacingOccurrences(of: "      valueFrom: {env: GATEWAY_KEY}", with: "      value: s3cr3t-gateway-key")
        try text.write(toFile: endpoint, atomically: true, encoding: .utf8)
        let pack = try Harness.airlock(["pack", "-q"], in: example)
        #expect(pack.status == 2)
        #expect(pack.stderr.contains("spec.headers[1].value"), "\(pack.stderr)")
        #expect(!pack.stderr.contains("s3cr3t"), "the secret must never be printed")
        #expect(!FileManager.default.fileExists(atPath: "\(example)/platform-1.4.2.tar.zst"))
    }

    @Test func unsignedBundlesAreRefusedUntilSignedAndSigningKeepsEveryContentFrame() throws {
        let packed = try PackedExample.make(signed: false)
        let dir = packed.example
        #expect(try Harness.airlock(["key", "generate", "--out", "first"], in: dir).status == 0)
        #expect(try Harness.airlock(["key", "generate", "--out", "second", "--type", "ed25519"], in: dir).status == 0)

        let refused = try Harness.airlock(["verify", packed.bundle, "--key", "first.pub"], in: dir)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("unsigned"))
        let allowed = try Harness.airlock(["verify", packed.bundle, "--allow-unsigned"], in: dir)
        #expect(allowed.status == 0)
        #expect(allowed.stdout.contains("UNSIGNED"))

        let before = try Harness.run(["sh", "-c", "tar --zstd -xOf \"$0\" --exclude statement.intoto.json | sha256sum", packed.bundle])
            .stdout
        #expect(try Harness.airlock(["sign", packed.bundle, "--key", "first.key"], in: dir).status == 0)
        #expect(try Harness.airlock(["sign", packed.bundle, "--key", "second.key"], in: dir).status == 0)
        let after = try Harness.run(["sh", "-c", "tar --zstd -xOf \"$0\" --exclude statement.intoto.json | sha256sum", packed.bundle])
            .stdout
        #expect(before == after)
        for key in ["first.pub", "second.pub"] {
            let verify = try Harness.airlock(["verify", packed.bundle, "--key", key, "--output", "json"], in: dir)
            #expect(verify.status == 0, "\(key): \(verify.stderr)")
        }
        let json = try Harness.airlock(["verify", packed.bundle, "--key", "first.pub", "--key", "second.pub", "--output", "json"], in: dir)
        let report = try #require(try JSONSerialization.jsonObject(with: json.data) as? [String: Any])
        let statuses = (report["signatures"] as? [[String: String]])?.map { $0["status"] }
        #expect(statuses == ["verified", "verified"])
        // The detached envelope names the new file's digest.
        let detached = try Data(contentsOf: URL(fileURLWithPath: packed.bundle + ".intoto.json"))
        let envelope = try #require(try JSONSerialization.jsonObject(with: detached) as? [String: Any])
        let encoded = try #require(envelope["payload"] as? String)
        let payload = try #require(Data(base64Encoded: encoded))
        let statement = try #require(try JSONSerialization.jsonObject(with: payload) as? [String: Any])
        let first = try #require((statement["subject"] as? [[String: Any]])?.first)
        #expect((first["digest"] as? [String: String])?["sha256"] == (try Harness.sha256(ofFile: packed.bundle)))
    }
}
