import Foundation
import TestSupport
import Testing

/// `pack --attest` / `attest: true`: a delivery attestation for every image and chart, signed with the
/// bundle's key, pushed the two ways cosign attaches attestations, and read back from the real
/// docker-registry by skopeo, by securesystemslib (the reference DSSE implementation) and by
/// airlock's own cosign reader; `audit --images` takes it as proof. The vendor's own cosign
/// signature and SLSA attestation are made by seed-referrers.py (cosign is not installable here).
@Suite(.removesTemporaryFolders, .needs(.dockerRegistry, .skopeo, .python3, .openssl))
struct DeliveryAttestationTests {
    static let delivery = "https://airlock.dev/attestations/delivery/v1"
    static let slsa = "https://slsa.dev/provenance/v1"

    @Test func everyImageAndChartCarriesADeliveryAttestationTheClusterCanCheck() throws {
        let registry = try TestRegistry(tls: false)
        defer { registry.stop() }
        let root = try Harness.temporaryDirectory("attest")
        let example = try Harness.makeExample(in: root, dockerArchive: false)
        #expect(
            try Harness.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "\(root)/vendor.key"]).status == 0
        )
        #expect(try Harness.run(["openssl", "ec", "-in", "\(root)/vendor.key", "-pubout", "-out", "\(root)/vendor.pub"]).status == 0)
        #expect(try Harness.airlock(["key", "generate", "--out", "signer"], in: root).status == 0)
        // app carries the vendor's signature and SLSA attestation (cosign 2's .att tag, which pack
        // extends); multi carries only the vendor's signature.
        for (name, source, extra) in [("app", "app-1.4.2", [String]()), ("multi", "multi-1.4.2", ["--all"])] {
            let copy = try Harness.run(
                ["skopeo", "copy", "--quiet", "--dest-tls-verify=false"] + extra
                    + ["oci:\(example)/build/oci:\(source)", "docker://\(registry.host)/src/\(name):1"]
            )
            try #require(copy.status == 0, "\(copy.stderr)")
            let seeded = try Harness.run(
                [
                    "python3", "\(Harness.packageRoot)/Tests/Fixtures/seed-referrers.py", registry.host, "src/\(name)", "1",
                    "--cosign-key", "\(root)/vendor.key",
                ] + (name == "app" ? ["--attest", Self.slsa] : [])
            )
            try #require(seeded.status == 0, "\(seeded.stderr)")
        }
        let spec = """
            apiVersion: airlock/v1
            kind: Bundle
            metadata: {name: platform, version: "2.0.0", created: "2026-11-01T00:00:00Z"}
            attest: true
            images:
              - ref: \(registry.host)/src/app:1
                referrers: true
              - ref: \(registry.host)/src/multi:1
                referrers: true
            charts:
              - path: ./example/charts/platform

            """
        try spec.write(toFile: "\(root)/airlock.yaml", atomically: true, encoding: .utf8)
        let unsigned = try Harness.airlock(["pack", "-q", "--attest", "--plain-http", registry.host], in: root)
        #expect(
            unsigned.status == 2 && unsigned.stderr.contains("--attest signs each image's attestation with the bundle's key"),
            "\(unsigned.stderr)"
        )
        let keyless = try Harness.airlock(["pack", "-q", "--plain-http", registry.host], in: root)
        #expect(
            keyless.status == 2 && keyless.stderr.contains("attest: delivery attestations are signed with the bundle's key: give --key"),
            "\(keyless.stderr)"
        )
        #expect(!FileManager.default.fileExists(atPath: "\(root)/platform-2.0.0.tar.zst"), "nothing written")
        let pack = try Harness.airlock(["pack", "-q", "--key", "signer.key", "--plain-http", registry.host], in: root)
        try #require(pack.status == 0, "\(pack.stderr)")
        let bundle = "platform-2.0.0.tar.zst"

        // In the bundle, before any push: the vendor's signature, the vendor's SLSA attestation and
        // the delivery attestation by the bundle's signer, all read by airlock's cosign reader.
        let offline = try Harness.airlock(
            [
                "verify", bundle, "--key", "signer.pub", "--cosign-key", "vendor.pub", "--cosign-key", "signer.pub",
                "--require-attestation", Self.delivery,
            ],
            in: root
        )
        #expect(offline.status == 0, "\(offline.stdout) \(offline.stderr)")

        let push = try Harness.airlock(
            [
                "push", bundle, "--key", "signer.pub", "--registry", "\(registry.host)/site", "--plain-http", registry.host,
                "--config-dir", "cfg", "-q",
            ],
            in: root
        )
        try #require(push.status == 0, "\(push.stderr)")

        // cosign 2's form, read back by skopeo: the .att manifest beside each image holds the vendor's
        // SLSA envelope and the delivery envelope, which securesystemslib verifies with the signer's
        // key (not the vendor's); its subject is the image's manifest digest in the registry.
        for (name, layers) in [("src/app", 2), ("src/multi", 1), ("charts/platform", 1)] {
            let tag = name == "charts/platform" ? "1.4.2" : "1"
            let raw = try Harness.run(["skopeo", "inspect", "--raw", "--tls-verify=false", "docker://\(registry.host)/site/\(name):\(tag)"])
            try #require(raw.status == 0, "\(raw.stderr)")
            let digest = "sha256:" + String(try Harness.run(["sha256sum"], stdin: raw.data).stdout.prefix(64))
            let copy = "\(root)/att-\(name.replacingOccurrences(of: "/", with: "-"))"
            let read = try Harness.run([
                "skopeo", "copy", "--quiet", "--src-tls-verify=false",
                "docker://\(registry.host)/site/\(name):sha256-\(digest.dropFirst(7)).att", "dir:\(copy)",
            ])
            try #require(read.status == 0, "\(name): \(read.stderr)")
            let manifest = try #require(
                try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(copy)/manifest.json"))) as? [String: Any]
            )
            #expect((manifest["layers"] as? [Any])?.count == layers, "\(name): \(manifest)")
            let verified = try Self.securesystemslib(copy: copy, key: "\(root)/signer.pub")
            #expect(verified.status == 0, "\(name): \(verified.stdout) \(verified.stderr)")
            let statement = try JSONSerialization.jsonObject(with: verified.data) as? [String: Any]
            let subject = (statement?["subject"] as? [[String: Any]])?.first?["digest"] as? [String: String]
            #expect(
                subject?["sha256"].map { "sha256:" + $0 } == digest,
                "\(name): the subject is the manifest in the registry: \(verified.stdout)"
            )
            let predicate = statement?["predicate"] as? [String: Any]
            #expect(
                (predicate?["bundle"] as? [String: String])?["version"] == "2.0.0"
                    && predicate?["kind"] as? String == (name.hasPrefix("charts") ? "chart" : "image"),
                "\(verified.stdout)"
            )
            let stranger = try Self.securesystemslib(copy: copy, key: "\(root)/vendor.pub")
            #expect(stranger.status == 1 && stranger.stderr.contains("VerificationError"), "\(stranger.stdout) \(stranger.stderr)")

            // cosign 3's form: a Sigstore bundle referrer, listed in the referrers tag schema's index.
            let index = try Harness.run([
                "skopeo", "inspect", "--raw", "--tls-verify=false",
                "docker://\(registry.host)/site/\(name):sha256-\(digest.dropFirst(7))",
            ])
            let listed = (try? JSONSerialization.jsonObject(with: index.data) as? [String: Any])?["manifests"] as? [[String: Any]] ?? []
            #expect(
                listed.contains {
                    ($0["annotations"] as? [String: String])?["dev.sigstore.bundle.predicateType"] == Self.delivery
                        && $0["artifactType"] as? String == "application/vnd.dev.sigstore.bundle.v0.3+json"
                },
                "\(name): \(index.stdout) \(index.stderr)"
            )
        }

        // audit from the ledger: every tag, the attestations and the referrers indexes push made included.
        let ledger = try Harness.airlock(
            ["audit", "--registry", "\(registry.host)/site", "--plain-http", registry.host, "--key", "signer.pub"],
            in: root
        )
        #expect(
            ledger.status == 0
                && ledger.stdout.contains("the referrers index of image \(registry.host)/src/app:1 (its 2 referrer(s) signed)")
                && ledger.stdout.contains("referrer of chart platform 1.4.2"),
            "\(ledger.stdout) \(ledger.stderr)"
        )

        // airlock's cosign reader on what the registry now holds: pack it back with its referrers.
        try """
        apiVersion: airlock/v1
        kind: Bundle
        metadata: {name: readback, version: "1", created: "2026-11-01T00:00:00Z"}
        images:
          - ref: \(registry.host)/site/src/app:1
            referrers: true
          - ref: \(registry.host)/site/src/multi:1
            referrers: true

        """.write(toFile: "\(root)/readback.yaml", atomically: true, encoding: .utf8)
        let readback = try Harness.airlock(
            ["pack", "-q", "-f", "readback.yaml", "--key", "signer.key", "--plain-http", registry.host],
            in: root
        )
        try #require(readback.status == 0, "\(readback.stderr)")
        let check = try Harness.airlock(
            [
                "verify", "readback-1.tar.zst", "--key", "signer.pub", "--cosign-key", "vendor.pub", "--cosign-key", "signer.pub",
                "--require-attestation", Self.delivery, "--output", "json",
            ],
            in: root
        )
        #expect(check.status == 0, "\(check.stdout) \(check.stderr)")
        let checks = (try? JSONSerialization.jsonObject(with: check.data) as? [String: Any])?["imageSignatures"] as? [[String: Any]] ?? []
        #expect(
            checks.filter { $0["attestation"] as? String == Self.delivery && $0["verified"] as? Bool == true }.count == 2,
            "\(check.stdout)"
        )
        let vendorOnly = try Harness.airlock(
            [
                "verify", "readback-1.tar.zst", "--key", "signer.pub", "--cosign-key", "vendor.pub",
                "--require-attestation", Self.delivery,
            ],
            in: root
        )
        #expect(vendorOnly.status == 1 && vendorOnly.stderr.contains("attestation of type \(Self.delivery)"), "\(vendorOnly.stderr)")

        // audit --images with neither bundles nor a ledger: the attestations are the proof; an image
        // pushed by hand has none.
        let rogue = try Harness.run([
            "skopeo", "copy", "--quiet", "--dest-tls-verify=false", "oci:\(example)/build/oci:app-1.4.2",
            "docker://\(registry.host)/site/rogue:1",
        ])
        try #require(rogue.status == 0, "\(rogue.stderr)")
        var lines = ""
        for name in ["src/app:1", "src/multi:1", "rogue:1"] {
            let raw = try Harness.run(["skopeo", "inspect", "--raw", "--tls-verify=false", "docker://\(registry.host)/site/\(name)"])
            let digest = String(try Harness.run(["sha256sum"], stdin: raw.data).stdout.prefix(64))
            lines += "docker-pullable://\(registry.host)/site/\(name.split(separator: ":")[0])@sha256:\(digest)\n"
        }
        try lines.write(toFile: "\(root)/running.txt", atomically: true, encoding: .utf8)
        let audit = try Harness.airlock(
            ["audit", "--images", "running.txt", "--key", "signer.pub", "--plain-http", registry.host, "--output", "json"],
            in: root
        )
        #expect(audit.status == 1, "the rogue image is not proven: \(audit.stdout) \(audit.stderr)")
        let findings = (try? JSONSerialization.jsonObject(with: audit.data) as? [String: Any])?["findings"] as? [[String: Any]] ?? []
        #expect(
            findings.filter { $0["signed"] as? Bool == true }.compactMap { $0["bundles"] as? [String] } == [
                ["platform 2.0.0"], ["platform 2.0.0"],
            ],
            "\(audit.stdout)"
        )
        #expect(
            findings.first { ($0["reference"] as? String ?? "").contains("/site/rogue@") }?["signed"] as? Bool == false,
            "\(audit.stdout)"
        )
        let stranger = try Harness.airlock(
            ["audit", "--images", "running.txt", "--key", "vendor.pub", "--plain-http", registry.host],
            in: root
        )
        #expect(
            stranger.status == 1 && !stranger.stdout.contains("signed    "),
            "an attestation by another key proves nothing: \(stranger.stdout)"
        )
    }

    /// securesystemslib verifies the delivery envelope among the `.att` manifest's layers (a skopeo
    /// `dir:` copy) with a PEM public key, keyid = sha256 of its DER; prints the statement.
    static func securesystemslib(copy: String, key: String) throws -> Harness.Output {
        let script = """
            import hashlib, json, subprocess, sys
            from cryptography.hazmat.primitives.serialization import load_pem_public_key
            from securesystemslib.dsse import Envelope
            from securesystemslib.signer import SSlibKey
            copy, key = sys.argv[1], open(sys.argv[2], "rb").read()
            manifest = json.load(open(copy + "/manifest.json"))
            layer = [l for l in manifest["layers"] if l.get("annotations", {}).get("predicateType") == sys.argv[3]][0]
            envelope = Envelope.from_dict(json.load(open(copy + "/" + layer["digest"].split(":")[1])))
            der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=key, capture_output=True, check=True).stdout
            public = SSlibKey.from_crypto(load_pem_public_key(key), hashlib.sha256(der).hexdigest(), "ecdsa-sha2-nistp256")
            envelope.verify([public], 1)
            print(envelope.payload.decode())
            """
        return try Harness.run(["\(Harness.packageRoot)/.venv-sslib/bin/python", "-c", script, copy, key, delivery])
    }
}
