import Foundation
import TestSupport
import Testing

/// Keyless cosign signatures (Fulcio certificates, Rekor entries, RFC 3161 timestamps) checked
/// offline against a Sigstore trusted root the site carries in. No Sigstore service is reachable
/// here: Tests/Fixtures/keyless.py builds a trusted root of its own (a Fulcio-like CA and
/// intermediate, a Rekor-like log key signing entry timestamps and checkpoints, a timestamp
/// authority run by `openssl ts -reply`), issues the certificates and attaches the signatures to
/// images in the real docker-registry in cosign 2's and cosign 3's forms, standing in for cosign,
/// Fulcio and Rekor. airlock packs them with `referrers: true` and checks them.
@Suite(.removesTemporaryFolders, .needs(.dockerRegistry, .skopeo, .python3, .openssl))
struct KeylessTests {
    static let identity = "https://github.com/vendor/platform/.github/workflows/release.yml@refs/heads/main"
    static let issuer = "https://token.actions.githubusercontent.com"
    static let python = "\(Harness.packageRoot)/.venv-sslib/bin/python"
    static let script = "\(Harness.packageRoot)/Tests/Fixtures/keyless.py"

    struct Signed {
        let root: String
        let registry: TestRegistry
        var trustedRoot: String { "\(root)/sigstore/trusted_root.json" }

        /// verify's arguments for the keyless policy.
        func policy(identity: String = KeylessTests.identity, issuer: String = KeylessTests.issuer) -> [String] {
            ["--cosign-identity", identity, "--cosign-oidc-issuer", issuer, "--trusted-root", trustedRoot]
        }
    }

    /// The trusted root, and each named image copied into the registry and signed as asked.
    private func signed(_ images: [(name: String, arguments: [String])]) throws -> Signed {
        let root = try Harness.temporaryDirectory("keyless")
        let example = try Harness.makeExample(in: root, dockerArchive: false)
        let made = try Harness.run([Self.python, Self.script, "root", "\(root)/sigstore"])
        try #require(made.status == 0, "keyless.py root: \(made.stderr)")
        let registry = try TestRegistry(tls: false)
        for (name, arguments) in images {
            let copy = try Harness.run([
                "skopeo", "copy", "--quiet", "--dest-tls-verify=false", "oci:\(example)/build/oci:app-1.4.2",
                "docker://\(registry.host)/src/\(name):1",
            ])
            try #require(copy.status == 0, "\(copy.stderr)")
            let sign = try Harness.run(
                [Self.python, Self.script, "sign", "\(root)/sigstore", registry.host, "src/\(name)", "1"] + arguments
            )
            try #require(sign.status == 0, "keyless.py sign \(name): \(sign.stderr)")
        }
        return Signed(root: root, registry: registry)
    }

    /// Packs the images (unsigned bundle: the images' signatures are what is checked here).
    private func pack(_ signed: Signed, _ names: [String], as bundle: String) throws {
        let images = names.map { "  - {ref: \(signed.registry.host)/src/\($0):1, referrers: true}\n" }.joined()
        let spec = "apiVersion: airlock/v1\nkind: Bundle\nmetadata: {name: \(bundle), version: \"1\", created: \"2026-11-01T00:00:00Z\"}\n"
        try (spec + "images:\n\(images)")
            .write(toFile: "\(signed.root)/\(bundle).yaml", atomically: true, encoding: .utf8)
        let packed = try Harness.airlock(["pack", "-f", "\(bundle).yaml", "--plain-http", signed.registry.host, "-q"], in: signed.root)
        try #require(packed.status == 0, "pack: \(packed.stderr)")
    }

    /// Each image's (verified, problem, identity) from `verify --output json`.
    private func checks(_ signed: Signed, bundle: String, _ arguments: [String]) throws -> [String: (Bool, String, String)] {
        let run = try Harness.airlock(
            ["verify", "\(bundle)-1.tar.zst", "--allow-unsigned", "--output", "json"] + arguments,
            in: signed.root
        )
        let report = try #require(try JSONSerialization.jsonObject(with: run.data) as? [String: Any], "\(run.stdout)\(run.stderr)")
        var out: [String: (Bool, String, String)] = [:]
        for result in report["imageSignatures"] as? [[String: Any]] ?? [] {
            let image = (result["image"] as? String ?? "").split(separator: "/").last.map { String($0.dropLast(2)) } ?? "?"
            let key = image + ((result["attestation"] as? String).map { " " + $0 } ?? "")
            out[key] = (result["verified"] as? Bool ?? false, result["problem"] as? String ?? "", result["identity"] as? String ?? "")
        }
        return out
    }

    @Test func bothCosignFormsVerifyOfflineByIdentityWithTheLogOrATimestamp() throws {
        let signed = try signed([
            ("v2", ["--format", "v2"]), ("v3", ["--format", "v3"]), ("tsa2", ["--format", "v2", "--time", "tsa"]),
            ("tsa3", ["--format", "v3", "--time", "tsa"]), ("legacy", ["--format", "v2", "--fault", "legacy-issuer"]),
        ])
        defer { signed.registry.stop() }
        let names = ["v2", "v3", "tsa2", "tsa3", "legacy"]
        try pack(signed, names, as: "keyless")
        // Offline: in a network namespace with no route, nothing can be fetched.
        let offline = try Harness.run(
            ["unshare", "-rn", Harness.airlock, "verify", "\(signed.root)/keyless-1.tar.zst", "--allow-unsigned"] + signed.policy()
        )
        #expect(offline.status == 0, "verify offline: \(offline.stdout)\(offline.stderr)")
        for name in names {
            #expect(
                offline.stdout.contains(
                    "cosign: \(signed.registry.host)/src/\(name):1 signed by keyless \(Self.identity) (\(Self.issuer))"
                ),
                "\(name): \(offline.stdout)"
            )
        }
        let byPattern = try checks(
            signed,
            bundle: "keyless",
            signed.policy(identity: "x") + ["--cosign-identity-regexp", "https://github\\.com/vendor/.*"]
        )
        #expect(byPattern.count == 5 && byPattern.values.allSatisfy(\.0), "by regular expression: \(byPattern)")

        // push refuses before sending anything when an identity does not match; passes when it does.
        let refused = try Harness.airlock(
            [
                "push", "keyless-1.tar.zst", "--allow-unsigned", "--registry", "\(signed.registry.host)/mirror", "--plain-http",
                signed.registry.host, "-q",
            ]
                + signed.policy(identity: "someone@example.com"),
            in: signed.root
        )
        #expect(refused.status == 1 && refused.stderr.contains("not someone@example.com") && refused.stderr.contains("nothing was pushed"))
        let pushed = try Harness.airlock(
            [
                "push", "keyless-1.tar.zst", "--allow-unsigned", "--registry", "\(signed.registry.host)/mirror", "--plain-http",
                signed.registry.host, "-q",
            ]
                + signed.policy(),
            in: signed.root
        )
        #expect(pushed.status == 0, "push: \(pushed.stderr)")
    }

    @Test func eachRefusalNamesTheConditionThatFailedAndPushesNothing() throws {
        let faults: [(name: String, arguments: [String], expected: String)] = [
            (
                "rogueid", ["--format", "v2", "--identity", "mallory@example.com"],
                "the certificate is for mallory@example.com, not \(Self.identity)"
            ),
            (
                "otherissuer", ["--format", "v3", "--issuer", "https://accounts.google.com"],
                "issued for https://accounts.google.com, not --cosign-oidc-issuer"
            ),
            ("rogue", ["--format", "v3", "--fault", "rogue"], "the certificate does not chain to a Fulcio CA of the trusted root"),
            ("untimed", ["--format", "v2", "--time", "none"], "no proof of when it was signed"),
            ("late", ["--format", "v2", "--fault", "late"], "outside its certificate's validity"),
            ("badset", ["--format", "v2", "--fault", "bad-set"], "the Rekor signed entry timestamp does not verify with the log's key"),
            ("badproof", ["--format", "v3", "--fault", "bad-proof"], "its inclusion proof does not lead to the root hash it names"),
            ("otherentry", ["--format", "v3", "--fault", "other-entry"], "its Rekor entry is about another signature"),
            ("othertime", ["--format", "v2", "--time", "tsa", "--fault", "other-entry"], "its RFC 3161 timestamp does not verify"),
            ("otherdigest", ["--format", "v3", "--fault", "other-digest"], "over sha256:abab"),
        ]
        let signed = try signed(faults.map { ($0.name, $0.arguments) })
        defer { signed.registry.stop() }
        try pack(signed, faults.map(\.name), as: "faults")
        let results = try checks(signed, bundle: "faults", signed.policy())
        for (name, _, expected) in faults {
            let result = try #require(results[name], "\(name) was checked")
            #expect(!result.0, "\(name) must be refused")
            #expect(result.1.contains(expected), "\(name): \(result.1)")
        }
        let run = try Harness.airlock(["verify", "faults-1.tar.zst", "--allow-unsigned"] + signed.policy(), in: signed.root)
        #expect(run.status == 1 && run.stderr.split(separator: "\n").count == 1, "one line: \(run.stderr)")

        // push, one bundle per case: refused, and the registry holds nothing new.
        for (name, _, expected) in faults {
            try pack(signed, [name], as: "only-\(name)")
            let push = try Harness.airlock(
                ["push", "only-\(name)-1.tar.zst", "--allow-unsigned", "--registry", "\(signed.registry.host)/mirror"]
                    + ["--plain-http", signed.registry.host, "-q"] + signed.policy(),
                in: signed.root
            )
            #expect(
                push.status == 1 && push.stderr.contains(expected) && push.stderr.contains("nothing was pushed"),
                "\(name): \(push.stderr)"
            )
        }
        let catalog = try Harness.run([
            "python3", "-c", "import urllib.request,sys; print(urllib.request.urlopen(sys.argv[1]).read().decode())",
            "http://\(signed.registry.host)/v2/_catalog",
        ])
        #expect(catalog.status == 0 && !catalog.stdout.contains("mirror/"), "nothing was pushed: \(catalog.stdout)")

        // A keyless signature met with keys only says what to give.
        #expect(try Harness.airlock(["key", "generate", "--out", "vendor"], in: signed.root).status == 0)
        let keysOnly = try checks(signed, bundle: "faults", ["--cosign-key", "vendor.pub"])
        #expect(
            keysOnly["late"]?.1.contains("a keyless one (check it with --cosign-identity, --cosign-oidc-issuer and --trusted-root)") == true
        )
        // The policy is whole or refused.
        let partial = try Harness.airlock(
            ["verify", "faults-1.tar.zst", "--allow-unsigned", "--cosign-identity", Self.identity],
            in: signed.root
        )
        #expect(partial.status == 2 && partial.stderr.contains("keyless signatures need all of"), "\(partial.stderr)")
        try "{}".write(toFile: "\(signed.root)/empty-root.json", atomically: true, encoding: .utf8)
        let empty = try Harness.airlock(
            [
                "verify", "faults-1.tar.zst", "--allow-unsigned", "--cosign-identity", Self.identity, "--cosign-oidc-issuer", Self.issuer,
                "--trusted-root", "empty-root.json",
            ],
            in: signed.root
        )
        #expect(
            empty.status == 2 && empty.stderr.contains("trusted root: empty-root.json lists no certificate authority"),
            "\(empty.stderr)"
        )
    }

    @Test func keylessAttestationsAreRequiredByType() throws {
        let slsa = "https://slsa.dev/provenance/v1"
        let signed = try signed([("attested", ["--format", "v3", "--attest", slsa]), ("bare", ["--format", "v3"])])
        defer { signed.registry.stop() }
        try pack(signed, ["attested", "bare"], as: "attested")
        let results = try checks(signed, bundle: "attested", signed.policy() + ["--require-attestation", slsa])
        #expect(results["attested"]?.0 == true && results["attested \(slsa)"]?.0 == true, "\(results)")
        #expect(results["attested \(slsa)"]?.2 == "\(Self.identity) (\(Self.issuer))")
        #expect(results["bare"]?.0 == true && results["bare \(slsa)"]?.0 == false, "\(results)")
        #expect(results["bare \(slsa)"]?.1.contains("no attestation of type \(slsa) travels with it") == true)
    }
}
