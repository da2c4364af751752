import Foundation
import TestSupport
import Testing

/// A site's PKI instead of raw public keys: the signing key's X.509 certificate (made here with
/// openssl: a root, a code-signing CA under it, leaves for airlock's keys) travels in each
/// signature (`pack --cert`), and a verifier trusts the CA (`--signer-root`), with airlock and with
/// the stock-tool recipe.
@Suite(.removesTemporaryFolders, .needs(.openssl, .zstd, .python3))
struct SignerCertificateTests {
    struct PKI {
        let root: String

        /// root.pem → ca.pem (code-signing CA) → the leaf of each key asked for; other.pem an unrelated CA.
        static func make(in root: String, leaves: [(key: String, subject: String, codeSigning: Bool)]) throws -> PKI {
            func openssl(_ arguments: [String]) throws {
                let result = try Harness.run(["openssl"] + arguments, in: root)
                try #require(result.status == 0, "openssl \(arguments.joined(separator: " ")): \(result.stderr)")
            }
            for (name, subject) in [("root", "/O=Vendor/CN=Vendor Root CA"), ("other", "/CN=Another CA")] {
                try openssl([
                    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "\(name).key", "-out",
                    "\(name).pem",
                    "-days", "3650", "-subj", subject, "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
                    "keyUsage=critical,keyCertSign,cRLSign",
                ])
            }
            try "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n".write(
                toFile: "\(root)/ca.ext",
                atomically: true,
                encoding: .utf8
            )
            try openssl([
                "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.csr", "-subj",
                "/O=Vendor/CN=Vendor Code Signing CA",
            ])
            try openssl([
                "x509", "-req", "-in", "ca.csr", "-CA", "root.pem", "-CAkey", "root.key", "-CAcreateserial", "-out", "ca.pem", "-days",
                "1825", "-extfile", "ca.ext",
            ])
            for leaf in leaves {
                let usage = leaf.codeSigning ? "extendedKeyUsage=codeSigning\n" : "extendedKeyUsage=emailProtection\n"
                try "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n\(usage)".write(
                    toFile: "\(root)/\(leaf.key).ext",
                    atomically: true,
                    encoding: .utf8
                )
                try openssl(["req", "-new", "-key", "\(leaf.key).key", "-out", "\(leaf.key).csr", "-subj", leaf.subject])
                try openssl([
                    "x509", "-req", "-in", "\(leaf.key).csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out",
                    "\(leaf.key).leaf.pem",
                    "-days", "365", "-extfile", "\(leaf.key).ext",
                ])
                let chain =
                    try String(contentsOfFile: "\(root)/\(leaf.key).leaf.pem", encoding: .utf8)
                    + String(contentsOfFile: "\(root)/ca.pem", encoding: .utf8)
                try chain.write(toFile: "\(root)/\(leaf.key).chain.pem", atomically: true, encoding: .utf8)
            }
            return PKI(root: root)
        }
    }

    @Test func aCertifiedKeyVerifiesThroughItsCAWithAirlockAndWithStockTools() throws {
        let root = try Harness.temporaryDirectory()
        for key in ["release", "mail", "stranger"] {
            #expect(try Harness.airlock(["key", "generate", "--out", "\(root)/\(key)"], in: root).status == 0)
        }
        _ = try PKI.make(in: root, leaves: [("release", "/O=Vendor/CN=Release Engineering", true), ("mail", "/O=Vendor/CN=Mail", false)])
        let example = try Harness.makeExample(in: root, dockerArchive: false)
        func pack(_ arguments: [String], to bundle: String, in folder: String? = nil) throws -> Harness.Output {
            try Harness.airlock(["pack", "-q", "-o", "\(root)/\(bundle)"] + arguments, in: folder ?? example)
        }
        let packed = try pack(["--key", "\(root)/release.key", "--cert", "\(root)/release.chain.pem"], to: "b.tar.zst")
        try #require(packed.status == 0, "\(packed.stderr)")
        func verify(_ arguments: [String], bundle: String = "b.tar.zst") throws -> Harness.Output {
            try Harness.airlock(["verify", bundle] + arguments, in: root)
        }

        // Trusted through the root, or through the code-signing CA alone; the signer is named.
        let viaRoot = try verify(["--signer-root", "root.pem"])
        #expect(
            viaRoot.status == 0
                && viaRoot.stdout.contains("(certificate /O=Vendor/CN=Release Engineering, issued by /O=Vendor/CN=Vendor Code Signing CA)"),
            "\(viaRoot.stdout) \(viaRoot.stderr)"
        )
        #expect(try verify(["--signer-root", "ca.pem"]).status == 0)
        #expect(try verify(["--signer-root", "root.pem", "--detached"]).status == 0)
        #expect(try verify(["--key", "release.pub"]).status == 0, "the raw key still verifies the same signature")
        let json = try verify(["--signer-root", "root.pem", "--output", "json"])
        let signature = ((try JSONSerialization.jsonObject(with: json.data) as? [String: Any])?["signatures"] as? [[String: Any]])?.first
        #expect(
            signature?["signer"] as? String == "/O=Vendor/CN=Release Engineering" && signature?["status"] as? String == "verified",
            "\(json.stdout)"
        )
        #expect(try Harness.airlock(["unpack", "b.tar.zst", "-o", "u", "--signer-root", "root.pem"], in: root).status == 0)

        // Refused: another CA, a time the certificate does not cover, a leaf not for code signing.
        let otherCA = try verify(["--signer-root", "other.pem"])
        #expect(
            otherCA.status == 1
                && otherCA.stderr.contains(
                    """
                    signed with the certificate /O=Vendor/CN=Release Engineering, which is not trusted: unable to get local issuer \
                    certificate
                    """
                ),
            "\(otherCA.stderr)"
        )
        let later = try verify(["--signer-root", "root.pem", "--signer-time", "2099-01-01T00:00:00Z"])
        #expect(later.status == 1 && later.stderr.contains("certificate has expired (checked at 2099-01-01T00:00:00Z)"), "\(later.stderr)")
        // The example states it was made on 2026-11-01, before this certificate was issued.
        let created = try verify(["--signer-root", "root.pem", "--signer-time", "created"])
        #expect(
            created.status == 1 && created.stderr.contains("certificate is not yet valid (checked at 2026-11-01T00:00:00Z)"),
            "\(created.stderr)"
        )
        let mail = try pack(["--key", "\(root)/mail.key", "--cert", "\(root)/mail.chain.pem"], to: "mail.tar.zst")
        try #require(mail.status == 0, "\(mail.stderr)")
        let notForCode = try verify(["--signer-root", "root.pem"], bundle: "mail.tar.zst")
        #expect(notForCode.status == 1 && notForCode.stderr.contains("not for signing code"), "\(notForCode.stderr)")
        #expect(try verify(["--signer-time", "tomorrow", "--signer-root", "root.pem"]).status == 2)
        let certAsKey = try verify(["--key", "root.pem"])
        #expect(
            certAsKey.status == 2
                && certAsKey.stderr.contains("is a certificate, not a public key: trust its CA with --signer-root root.pem"),
            "\(certAsKey.stderr)"
        )

        // sign --cert adds a certified signature to a bundle packed without one.
        #expect(try pack([], to: "later.tar.zst").status == 0)
        let signed = try Harness.airlock(["sign", "later.tar.zst", "--key", "release.key", "--cert", "release.chain.pem"], in: root)
        let laterCheck = try verify(["--signer-root", "ca.pem"], bundle: "later.tar.zst")
        #expect(signed.status == 0 && laterCheck.status == 0, "\(signed.stderr) \(laterCheck.stderr)")
        let diff = try Harness.airlock(["diff", "b.tar.zst", "later.tar.zst", "--signer-root", "root.pem", "--output", "json"], in: root)
        let compared = (try JSONSerialization.jsonObject(with: diff.data) as? [String: Any])?["diff"] as? [String: Any]
        #expect(
            diff.status == 0 && compared?["verified"] as? Bool == true,
            "diff checks both through the CA: \(diff.stdout) \(diff.stderr)"
        )

        // A certificate for another key is refused at pack time, and nothing is written.
        let mismatch = try pack(["--key", "\(root)/stranger.key", "--cert", "\(root)/release.chain.pem"], to: "x.tar.zst")
        #expect(
            mismatch.status == 2 && mismatch.stderr.contains("which is not the key of any --key given")
                && !FileManager.default.fileExists(atPath: "\(root)/x.tar.zst"),
            "\(mismatch.stderr)"
        )

        // The certificate is the signer's claim, not a key swap: one for another key does not verify.
        let envelopePath = "\(root)/b.tar.zst.intoto.json"
        var envelope = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: envelopePath))) as? [String: Any]
        )
        var signatures = try #require(envelope["signatures"] as? [[String: Any]])
        signatures[0]["cert"] = try String(contentsOfFile: "\(root)/mail.chain.pem", encoding: .utf8)
        envelope["signatures"] = signatures
        try JSONSerialization.data(withJSONObject: envelope).write(to: URL(fileURLWithPath: "\(root)/swapped.intoto.json"))
        let swapped = try verify(["--signer-root", "root.pem", "--envelope", "swapped.intoto.json"])
        #expect(swapped.status == 1 && (swapped.stdout + swapped.stderr).contains("does not verify"), "\(swapped.stdout) \(swapped.stderr)")

        // The stock-tool recipe takes the CA in place of the key.
        let recipe = "\(Harness.packageRoot)/scripts/audit-verify.sh"
        let stock = try Harness.run(["bash", recipe, "b.tar.zst", "root.pem"], in: root)
        #expect(stock.status == 0 && stock.stdout.contains("OK: signature verified with root.pem"), "\(stock.stdout) \(stock.stderr)")
        #expect(try Harness.run(["bash", recipe, "b.tar.zst", "other.pem"], in: root).status == 1)
        #expect(try Harness.run(["bash", recipe, "mail.tar.zst", "root.pem"], in: root).status == 1, "the recipe checks codeSigning too")
        #expect(try Harness.run(["bash", recipe, "b.tar.zst", "release.pub"], in: root).status == 0)
    }
}
