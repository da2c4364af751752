import Foundation
import TestSupport
import Testing

/// `push` (which records every import) and `airlock history` against the real docker-registry: the ledger
/// records each import's signed envelope, a rollback or a replacement is refused before anything
/// is sent (unless allowed), an entry that does not verify with the trusted keys is reported and
/// never trusted, and history lists the imports oldest first.
@Suite(.removesTemporaryFolders, .needs(.dockerRegistry, .skopeo, .python3, .zstd))
struct ImportLedgerTests {
    /// Run against a registry with deletes disabled (as shipped); the interrupted import and the
    /// delivery attestations run with deletes enabled.
    @Test func theRegistryRemembersImportsAndRefusesRollbacks() throws {
        let registry = try TestRegistry(tls: false, deleteEnabled: false)
        defer { registry.stop() }
        let packed = try PackedExample.make()
        let dir = packed.example
        let spec = try String(contentsOfFile: "\(dir)/airlock.yaml", encoding: .utf8)
        #expect(try Harness.airlock(["key", "generate", "--out", "attacker"], in: dir).status == 0)
        /// The example packed as another version (with `other`, without its chart; with `since`,
        /// as a delta on that bundle: the same content, another statement).
        func bundle(_ version: String, other: Bool = false, since: String? = nil, key: String = "signer.key") throws -> String {
            var text = spec.replacingOccurrences(of: "  version: 1.4.2", with: "  version: \"\(version)\"")
            if other { text = text.replacingOccurrences(of: "charts:\n  - path: ./charts/platform\n", with: "") }
            try text.write(toFile: "\(dir)/airlock.yaml", atomically: true, encoding: .utf8)
            let output = "v\(version)\(other ? "-other" : "")\(since == nil ? "" : "-delta")-\(key.prefix(3)).tar.zst"
            let pack = try Harness.airlock(["pack", "-q", "--key", key, "-o", output] + (since.map { ["--since", $0] } ?? []), in: dir)
            try #require(pack.status == 0, "\(pack.stderr)")
            return output
        }
        func push(_ file: String, _ extra: [String] = [], key: String = "signer.pub") throws -> Harness.Output {
            try Harness.airlock(
                [
                    "push", file, "--registry", "\(registry.host)/site", "--plain-http", registry.host, "--key", key,
                    "--config-dir", "cfg", "-q", "--output", "json",
                ] + extra,
                in: dir
            )
        }
        let (v10, v11, v11other) = (try bundle("1.0.0"), try bundle("1.1.0"), try bundle("1.1.0", other: true))
        let first = try push(v10)
        try #require(first.status == 0, "\(first.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: first.data) as? [String: Any])
        #expect(report["ledger"] as? String == "\(registry.host)/site/airlock/imports:platform-1.0.0")
        #expect(try push(v11).status == 0)

        let blobs = registry.storedBlobs()
        let rollback = try push(v10)
        #expect(
            rollback.status == 1 && rollback.stderr.contains("refusing a rollback: platform 1.1.0 was imported")
                && rollback.stderr.contains("--allow-downgrade"),
            "\(rollback.stderr)"
        )
        #expect(registry.storedBlobs() == blobs, "nothing was sent")
        // The same images and charts in another statement (a delta on the same version): no
        // replacement, and recorded already.
        let delta = try push(try bundle("1.1.0", since: v11))
        #expect(delta.status == 0 && !delta.stderr.contains("refusing"), "\(delta.stderr)")
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

        let history = try Harness.airlock(
            [
                "history", "--registry", "\(registry.host)/site", "--plain-http", registry.host, "--key", "signer.pub",
                "--output", "json",
            ],
            in: dir
        )
        #expect(history.status == 1, "an entry does not verify: \(history.stderr)")
        let listed = try #require(try JSONSerialization.jsonObject(with: history.data) as? [String: Any])
        let imports = try #require(listed["imports"] as? [[String: Any]])
        #expect(
            imports.compactMap { $0["version"] as? String } == ["1.0.0", "1.1.0", "9.9.9", "1.2.0"],
            "oldest first, one entry per version (1.1.0 replaced later, 1.0.0 not recorded again): \(imports)"
        )
        #expect(imports.filter { $0["verified"] as? Bool == false }.compactMap { $0["version"] as? String } == ["9.9.9"])
        // The entry is the envelope itself: read back by skopeo, it verifies with securesystemslib
        // against the vendor's key (and not against another), and names the statement history lists.
        let tags = try Harness.run(["skopeo", "list-tags", "--tls-verify=false", "docker://\(registry.host)/site/airlock/imports"]).stdout
        #expect(tags.contains("platform-1.2.0"), "\(tags)")
        let entry = "\(packed.root)/ledger-entry"
        let read = try Harness.run([
            "skopeo", "copy", "--quiet", "--src-tls-verify=false",
            "docker://\(registry.host)/site/airlock/imports:platform-1.2.0", "dir:\(entry)",
        ])
        try #require(read.status == 0, "\(read.stderr)")
        let statement = imports.last?["statementDigest"] as? String ?? "?"
        let vendor = try Self.securesystemslib(entry: entry, key: "\(dir)/signer.pub")
        #expect(vendor.status == 0 && vendor.stdout == "verified \(statement)\n", "\(vendor.stdout) \(vendor.stderr)")
        let stranger = try Self.securesystemslib(entry: entry, key: "\(dir)/attacker.pub")
        #expect(stranger.status == 1 && stranger.stderr.contains("VerificationError"), "\(stranger.stdout) \(stranger.stderr)")

        // audit from the ledger alone: every tag traced to a verified import; one pushed by hand is not.
        let audit = try Harness.airlock(
            [
                "audit", "--registry", "\(registry.host)/site", "--plain-http", registry.host, "--key", "signer.pub",
                "--output", "json",
            ],
            in: dir
        )
        #expect(audit.status == 0, "\(audit.stdout) \(audit.stderr)")
        let rogueRoot = try Harness.temporaryDirectory("rogue")
        let other = try Harness.makeExample(in: rogueRoot, dockerArchive: false, attestations: true)
        let copy = try Harness.run([
            "skopeo", "copy", "--quiet", "--all", "--dest-tls-verify=false", "oci:\(other)/build/oci:multi-1.4.2",
            "docker://\(registry.host)/site/rogue:1",
        ])
        try #require(copy.status == 0, "\(copy.stderr)")
        let rogue = try Harness.airlock(
            ["audit", "--registry", "\(registry.host)/site", "--plain-http", registry.host, "--key", "signer.pub"],
            in: dir
        )
        #expect(rogue.status == 1 && rogue.stdout.contains("site/rogue:1"), "\(rogue.stdout) \(rogue.stderr)")
    }

    /// The ledger entry is written last: a push cut short (the registry killed once the first
    /// blob has landed) leaves none, and the re-run that completes the import writes it.
    @Test func anInterruptedImportLeavesNoLedgerEntry() throws {
        let registry = try TestRegistry(tls: false)
        defer { registry.stop() }
        let packed = try PackedExample.make(layerMB: 48)
        let arguments = [
            "push", packed.bundle, "--registry", "\(registry.host)/site", "--plain-http", registry.host, "--key", "signer.pub",
            "--jobs", "1", "--config-dir", "cfg", "-q",
        ]
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Harness.airlock)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: packed.example)
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        registry.kill(afterFirstBlobOf: process)
        #expect(
            !registry.linkedBlobs().isEmpty && process.terminationStatus == 3,
            "cut after the first blob: exit \(process.terminationStatus)"
        )
        try registry.start()
        let ledger = "docker://\(registry.host)/site/airlock/imports"
        let none = try Harness.run(["skopeo", "list-tags", "--tls-verify=false", ledger])
        #expect(!none.stdout.contains("platform-1.4.2"), "no entry for an import that did not finish: \(none.stdout)")
        let again = try Harness.airlock(arguments, in: packed.example)
        try #require(again.status == 0, "\(again.stderr)")
        let tags = try Harness.run(["skopeo", "list-tags", "--tls-verify=false", ledger])
        #expect(tags.status == 0 && tags.stdout.contains("platform-1.4.2"), "\(tags.stdout) \(tags.stderr)")
    }

    /// A `--ledger` that is no repository name is refused in one line before anything is sent.
    @Test func aLedgerThatIsNoRepositoryNameIsRefusedBeforeAnythingIsSent() throws {
        let registry = try TestRegistry(tls: false)
        defer { registry.stop() }
        let packed = try PackedExample.make()
        let push = try Harness.airlock(
            [
                "push", packed.bundle, "--registry", "\(registry.host)/site", "--plain-http", registry.host, "--key", "signer.pub",
                "--config-dir", "cfg", "-q", "--ledger", "Imports/Of Site",
            ],
            in: packed.example
        )
        #expect(push.status == 2, "an input error: \(push.status) \(push.stderr)")
        #expect(push.stderr.contains("invalid repository \"site/Imports/Of Site\""), "\(push.stderr)")
        #expect(push.stderr.split(separator: "\n").count == 1, "one line: \(push.stderr)")
        #expect(registry.storedBlobs().isEmpty, "nothing was sent")
    }

    /// An entry altered in the registry (its envelope's statement rewritten to claim a version far
    /// ahead, the signature left as it was): history shows it NOT VERIFIED, and a later push is
    /// neither refused as a rollback because of it nor quiet about it.
    @Test func aLedgerEntryTamperedInTheRegistryIsReportedAndNeverTrusted() throws {
        let registry = try TestRegistry(tls: false)
        defer { registry.stop() }
        let packed = try PackedExample.make()
        let push = { (bundle: String) in
            try Harness.airlock(
                [
                    "push", bundle, "--registry", "\(registry.host)/site", "--plain-http", registry.host, "--key", "signer.pub",
                    "--config-dir", "cfg", "-q",
                ],
                in: packed.example
            )
        }
        try #require(try push(packed.bundle).status == 0)
        // Rewrite the entry as someone with write access to the registry could: same tag, same
        // signature, a statement that now says 99.0.0.
        let script = """
            import base64, hashlib, json, sys, urllib.request
            host, repo, tag = sys.argv[1:4]
            base = "http://%s/v2/%s" % (host, repo)
            def call(method, url, data=None, headers={}):
                request = urllib.request.Request(url, data=data, method=method, headers=headers)
                with urllib.request.urlopen(request) as answer:
                    return dict(answer.headers), answer.read()
            kind = "application/vnd.oci.image.manifest.v1+json"
            _, body = call("GET", "%s/manifests/%s" % (base, tag), headers={"Accept": kind})
            manifest = json.loads(body)
            layer = manifest["layers"][0]
            _, raw = call("GET", "%s/blobs/%s" % (base, layer["digest"]))
            envelope = json.loads(raw)
            statement = json.loads(base64.b64decode(envelope["payload"]))
            statement["predicate"]["version"] = "99.0.0"
            envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
            data = json.dumps(envelope).encode()
            digest = "sha256:" + hashlib.sha256(data).hexdigest()
            headers, _ = call("POST", base + "/blobs/uploads/", b"")
            location = headers["Location"]
            location = location if location.startswith("http") else "http://" + host + location
            call("PUT", location + ("&" if "?" in location else "?") + "digest=" + digest, data,
                 {"Content-Type": "application/octet-stream"})
            layer["digest"], layer["size"] = digest, len(data)
            call("PUT", "%s/manifests/%s" % (base, tag), json.dumps(manifest).encode(), {"Content-Type": kind})
            """
        let tamper = try Harness.run(["python3", "-c", script, registry.host, "site/airlock/imports", "platform-1.4.2"])
        try #require(tamper.status == 0, "\(tamper.stderr)")

        let history = try Harness.airlock(
            ["history", "--registry", "\(registry.host)/site", "--plain-http", registry.host, "--key", "signer.pub"],
            in: packed.example
        )
        #expect(history.status == 1 && history.stdout.contains("NOT VERIFIED"), "\(history.stdout) \(history.stderr)")
        // The same bundle again: the altered entry claims 99.0.0, which would refuse 1.4.2 as a
        // rollback if it were trusted; it is reported instead, and the import goes through.
        let again = try push(packed.bundle)
        #expect(again.status == 0 && !again.stderr.contains("refusing a rollback"), "\(again.stderr)")
        #expect(again.stderr.contains("platform-1.4.2 does not verify with the trusted keys"), "\(again.stderr)")
    }

    /// securesystemslib (PyPI), the reference DSSE implementation, verifies the envelope a ledger
    /// entry holds (the layer of the skopeo `dir:` copy) with a PEM public key; the keyid is the
    /// one airlock documents, sha256 of the key's DER. Prints the digest of the statement it signs.
    static func securesystemslib(entry: String, key: String) throws -> Harness.Output {
        let script = """
            import hashlib, json, subprocess, sys
            from cryptography.hazmat.primitives.serialization import load_pem_public_key
            from securesystemslib.dsse import Envelope
            from securesystemslib.signer import SSlibKey
            entry, key = sys.argv[1], open(sys.argv[2], "rb").read()
            manifest = json.load(open(entry + "/manifest.json"))
            layer = [l for l in manifest["layers"] if l["mediaType"] == "application/vnd.dsse.envelope.v1+json"][0]
            raw = open(entry + "/" + layer["digest"].split(":")[1], "rb").read()
            der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=key, capture_output=True, check=True).stdout
            public = SSlibKey.from_crypto(load_pem_public_key(key), hashlib.sha256(der).hexdigest(), "ecdsa-sha2-nistp256")
            Envelope.from_dict(json.loads(raw)).verify([public], 1)
            print("verified sha256:" + hashlib.sha256(Envelope.from_dict(json.loads(raw)).payload).hexdigest())
            """
        return try Harness.run(["\(Harness.packageRoot)/.venv-sslib/bin/python", "-c", script, entry, key])
    }
}
