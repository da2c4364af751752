import Foundation
import TestSupport
import Testing

/// `referrers: true`: a signature (cosign's tag scheme) and an SBOM (an OCI 1.1 artifact, listed
/// through the referrers tag schema because docker-registry 2.8 has no referrers API) travel with
/// their image and come out under the same names on the other side. The artifacts are attached by
/// Tests/Fixtures/seed-referrers.py, standing in for cosign and oras (not installable here).
@Suite(.removesTemporaryFolders, .needs(.dockerRegistry, .skopeo, .python3))
struct ReferrersTests {
    @Test func signaturesAndSBOMsAreCarriedAndPushedUnderTheirNames() throws {
        let registry = try TestRegistry(tls: false)
        defer { registry.stop() }
        let root = try Harness.temporaryDirectory()
        let example = try Harness.makeExample(in: root, dockerArchive: false)
        let copy = try Harness.run([
            "skopeo", "copy", "--quiet", "--dest-tls-verify=false", "oci:\(example)/build/oci:app-1.4.2",
            "docker://\(registry.host)/src/app:1",
        ])
        try #require(copy.status == 0, "\(copy.stderr)")
        let seeded = try Harness.run(["python3", "\(Harness.packageRoot)/Tests/Fixtures/seed-referrers.py", registry.host, "src/app", "1"])
        try #require(seeded.status == 0, "\(seeded.stderr)")
        let subject = seeded.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let hex = String(subject.dropFirst("sha256:".count))

        try """
        apiVersion: airlock/v1
        kind: Bundle
        metadata: {name: signed, version: "1", created: "2026-11-01T00:00:00Z"}
        images:
          - ref: \(registry.host)/src/app:1
            referrers: true
        """.write(toFile: "\(root)/airlock.yaml", atomically: true, encoding: .utf8)
        let pack = try Harness.airlock(["pack", "-q", "--output", "json", "--plain-http", registry.host], in: root)
        try #require(pack.status == 0, "\(pack.stderr)")
        let image = try #require(
            ((try JSONSerialization.jsonObject(with: pack.data) as? [String: Any])?["images"] as? [[String: Any]])?.first
        )
        let referrers = (image["referrers"] as? [[String: Any]]) ?? []
        let byRef = Dictionary(referrers.map { ($0["ref"] as? String ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        let signature = try #require(byRef["\(registry.host)/src/app:sha256-\(hex).sig"], "\(referrers)")
        #expect(signature["via"] as? String == "cosign-tag" && signature["subject"] as? String == subject)
        let sbom = try #require(
            referrers.first { $0["artifactType"] as? String == "application/spdx+json" && $0["via"] as? String == "referrers-tag" }
        )
        #expect((sbom["ref"] as? String)?.hasPrefix("\(registry.host)/src/app@sha256:") == true)
        #expect(byRef["\(registry.host)/src/app:sha256-\(hex)"] != nil, "the tag schema's index travels too")
        let inspect = try Harness.airlock(["inspect", "signed-1.tar.zst"], in: root)
        #expect(inspect.stdout.contains("referrer application/spdx+json"), "\(inspect.stdout)")

        // Pushed elsewhere, each keeps its name and digest, so cosign and oras find them there.
        let push = try Harness.airlock(
            [
                "push", "signed-1.tar.zst", "--allow-unsigned", "--registry", "\(registry.host)/mirror", "--plain-http",
                registry.host, "-q", "--config-dir", "cfg",
            ],
            in: root
        )
        try #require(push.status == 0, "\(push.stderr)")
        func digest(_ reference: String) throws -> String? {
            let raw = try Harness.run(["skopeo", "inspect", "--raw", "--tls-verify=false", "docker://\(registry.host)/\(reference)"])
            guard raw.status == 0 else { return nil }
            return "sha256:" + (try Harness.run(["sha256sum"], stdin: raw.data).stdout.prefix(64))
        }
        #expect(try digest("mirror/src/app:1") == subject)
        #expect(try digest("mirror/src/app:sha256-\(hex).sig") == signature["digest"] as? String)
        #expect(try digest("mirror/src/app:sha256-\(hex)") == byRef["\(registry.host)/src/app:sha256-\(hex)"]?["digest"] as? String)
        let sbomDigest = try #require(sbom["digest"] as? String)
        #expect(try digest("mirror/src/app@\(sbomDigest)") == sbomDigest)

        // Served from the bundle, the OCI 1.1 referrers API lists the SBOM under the image
        // (docker-registry 2.8 has no such API; airlock serve does), and cosign's tag resolves.
        let serve = try ServeProcess(["signed-1.tar.zst", "--allow-unsigned"], in: root)
        let listed = try Harness.run([
            "python3", "-c",
            """
            import http.client, json, sys
            port, subject = int(sys.argv[1]), sys.argv[2]
            def get(path):
                connection = http.client.HTTPConnection("127.0.0.1", port)
                connection.request("GET", path)
                response = connection.getresponse()
                body = json.loads(response.read())
                return response.status, response.getheader("Content-Type"), response.getheader("OCI-Filters-Applied"), body
            status, kind, filters, index = get("/v2/src/app/referrers/" + subject)
            spdx = get("/v2/src/app/referrers/%s?artifactType=application/spdx%%2Bjson" % subject)
            print(json.dumps({"status": status, "type": kind, "all": [[m["artifactType"], m["digest"]] for m in index["manifests"]],
                              "spdx": [spdx[2]], "spdxCount": len(spdx[3]["manifests"]),
                              "otherCount": len(get("/v2/src/app/referrers/%s?artifactType=text/plain" % subject)[3]["manifests"]),
                              "unknownSubject": len(get("/v2/src/app/referrers/sha256:" + "0" * 64)[3]["manifests"]),
                              "malformedSubject": get("/v2/src/app/referrers/sha256:zz")[0:4:3],
                              "unknownRepository": get("/v2/src/nothing/referrers/" + subject)[0]}))
            """, "\(serve.port)", subject,
        ])
        let answers = try #require(try JSONSerialization.jsonObject(with: listed.data) as? [String: Any], "\(listed.stderr)")
        #expect(answers["status"] as? Int == 200 && answers["type"] as? String == "application/vnd.oci.image.index.v1+json")
        #expect(answers["all"] as? [[String]] == [["application/spdx+json", sbomDigest]], "\(answers)")
        #expect(answers["spdx"] as? [String] == ["artifactType"] && answers["spdxCount"] as? Int == 1 && answers["otherCount"] as? Int == 0)
        #expect(answers["unknownSubject"] as? Int == 0 && answers["unknownRepository"] as? Int == 404)
        let malformed = answers["malformedSubject"] as? [Any]
        #expect(
            malformed?.first as? Int == 200 && ((malformed?.last as? [String: Any])?["manifests"] as? [Any])?.isEmpty == true,
            "\(answers)"
        )
        let served = try Harness.run([
            "skopeo", "inspect", "--raw", "--tls-verify=false", "docker://127.0.0.1:\(serve.port)/src/app:sha256-\(hex).sig",
        ])
        #expect(try "sha256:" + Harness.run(["sha256sum"], stdin: served.data).stdout.prefix(64) == signature["digest"] as? String ?? "")
        #expect(serve.stop() == 0, "\(serve.stderr.suffix(3000))")

        // Without referrers: true nothing else comes along; on a layout it is refused.
        try String(contentsOfFile: "\(root)/airlock.yaml", encoding: .utf8).replacingOccurrences(
            of: "referrers: true",
            with: "referrers: false"
        )
        .write(toFile: "\(root)/airlock.yaml", atomically: true, encoding: .utf8)
        let plain = try Harness.airlock(["pack", "-q", "--output", "json", "--plain-http", registry.host, "-o", "plain.tar.zst"], in: root)
        let plainImage = ((try JSONSerialization.jsonObject(with: plain.data) as? [String: Any])?["images"] as? [[String: Any]])?.first
        #expect(plain.status == 0 && plainImage?["referrers"] == nil)
        try """
        apiVersion: airlock/v1\nkind: Bundle\nmetadata: {name: x, version: \"1\"}\nimages:\n  - layout: \(example)/build/oci\n    \
        select: app-1.4.2\n    referrers: true\n
        """
        .write(toFile: "\(root)/airlock.yaml", atomically: true, encoding: .utf8)
        let refused = try Harness.airlock(["pack", "-q"], in: root)
        #expect(refused.status == 2 && refused.stderr.contains("referrers: true applies to images pulled with ref:"), "\(refused.stderr)")
    }

    /// The OCI 1.1 referrers API path. No registry installable here has the API, so a read-only
    /// stand-in (Tests/Fixtures/referrers-registry.py) serves the example layout and lists an SBOM
    /// only through GET /v2/<name>/referrers/<digest>.
    @Test func theReferrersAPIIsAskedFirst() throws {
        let root = try Harness.temporaryDirectory()
        let example = try Harness.makeExample(in: root, dockerArchive: false)
        let (stub, host) = try PythonServer.exampleRegistry(example: example, root: root, bundleName: "api", image: "referrers: true")
        defer { stub.stop() }
        let pack = try Harness.airlock(["pack", "-q", "--output", "json", "--plain-http", host], in: root)
        try #require(pack.status == 0, "\(pack.stderr)")
        let image = ((try JSONSerialization.jsonObject(with: pack.data) as? [String: Any])?["images"] as? [[String: Any]])?.first
        let referrers = (image?["referrers"] as? [[String: Any]]) ?? []
        #expect(referrers.count == 1, "\(referrers)")
        #expect(
            referrers.first?["via"] as? String == "referrers-api" && referrers.first?["artifactType"] as? String == "application/spdx+json"
        )
        #expect((referrers.first?["ref"] as? String)?.hasPrefix("\(host)/src/app@sha256:") == true)
        #expect(try Harness.airlock(["verify", "api-1.tar.zst", "--allow-unsigned"], in: root).status == 0)
    }

    /// `--cosign-key`: verify and push check, offline, that every image carries a cosign signature
    /// by the vendor's key over its digest. The signatures are made as `cosign sign --key` makes
    /// them (ECDSA P-256 over the simple-signing payload) by seed-referrers.py with openssl, since
    /// cosign is not installable here; the registry, skopeo and openssl are real.
    @Test func cosignSignaturesOfEveryImageAreCheckedOfflineByVerifyAndPush() throws {
        let registry = try TestRegistry(tls: false)
        defer { registry.stop() }
        let root = try Harness.temporaryDirectory()
        let example = try Harness.makeExample(in: root, dockerArchive: false)
        var keyIDs: [String: String] = [:]
        for vendor in ["vendor", "other"] {
            #expect(
                try Harness.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "\(root)/\(vendor).key"]).status
                    == 0
            )
            #expect(
                try Harness.run(["openssl", "ec", "-in", "\(root)/\(vendor).key", "-pubout", "-out", "\(root)/\(vendor).pub"]).status == 0
            )
            let der = try Harness.run(["openssl", "pkey", "-pubin", "-in", "\(root)/\(vendor).pub", "-outform", "DER"])
            keyIDs[vendor] = String(try Harness.run(["sha256sum"], stdin: der.data).stdout.prefix(64))
        }
        // app is signed by the vendor, multi by the other vendor; plain has no signature; stray's
        // signature (the vendor's) names another image's digest.
        var digests: [String: String] = [:]
        for (name, source, extra) in [
            ("app", "app-1.4.2", [String]()), ("multi", "multi-1.4.2", ["--all"]), ("plain", "app-1.4.2", []), ("stray", "app-1.4.2", []),
            ("modern", "app-1.4.2", []), ("skewed", "app-1.4.2", []), ("attested", "app-1.4.2", []), ("attested3", "app-1.4.2", []),
        ] {
            let copy = try Harness.run(
                ["skopeo", "copy", "--quiet", "--dest-tls-verify=false"] + extra + [
                    "oci:\(example)/build/oci:\(source)", "docker://\(registry.host)/src/\(name):1",
                ]
            )
            try #require(copy.status == 0, "\(copy.stderr)")
        }
        // modern and skewed are signed as cosign 3 signs: a Sigstore bundle as an OCI 1.1 referrer.
        let elsewhere = "sha256:" + String(repeating: "ab", count: 32)
        // attested and attested3 also carry SLSA provenance attestations (cosign 2's .att tag, cosign 3's bundle referrer).
        let slsa = "https://slsa.dev/provenance/v1"
        for (name, signer, signed, format) in [
            ("app", "vendor", nil, "v2"), ("multi", "other", nil, "v2"), ("stray", "vendor", elsewhere, "v2"),
            ("modern", "vendor", nil, "v3"), ("skewed", "vendor", elsewhere, "v3"),
            ("attested", "vendor", nil, "v2"), ("attested3", "vendor", nil, "v3"),
        ] {
            let attest = name.hasPrefix("attested") ? ["--attest", slsa] : []
            let seeded = try Harness.run(
                [
                    "python3", "\(Harness.packageRoot)/Tests/Fixtures/seed-referrers.py", registry.host, "src/\(name)", "1",
                    "--cosign-key", "\(root)/\(signer).key", "--format", format,
                ] + attest + (signed.map { ["--signed-digest", $0] } ?? [])
            )
            try #require(seeded.status == 0, "\(seeded.stderr)")
            digests[name] = seeded.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        func pack(_ names: [String], as bundle: String, platforms: String = "") throws {
            let images = names.map { "  - ref: \(registry.host)/src/\($0):1\n    referrers: true\n\(platforms)" }.joined()
            try """
            apiVersion: airlock/v1\nkind: Bundle\nmetadata: {name: \(bundle), version: \"1\", created: \
            \"2026-11-01T00:00:00Z\"}\nimages:\n\(images)
            """
            .write(toFile: "\(root)/\(bundle).yaml", atomically: true, encoding: .utf8)
            let packed = try Harness.airlock(
                ["pack", "-q", "-f", "\(bundle).yaml", "--key", "signer.key", "--plain-http", registry.host],
                in: root
            )
            try #require(packed.status == 0, "\(packed.stderr)")
        }
        #expect(try Harness.airlock(["key", "generate", "--out", "signer"], in: root).status == 0)
        try pack(["app", "multi"], as: "vendors")

        // One vendor's key is not enough for both images: exit 1, naming the other one.
        let one = try Harness.airlock(["verify", "vendors-1.tar.zst", "--key", "signer.pub", "--cosign-key", "vendor.pub"], in: root)
        #expect(
            one.status == 1
                && one.stderr.contains(
                    "image \(registry.host)/src/multi:1: none of its 1 cosign signature(s) verifies with the given key(s)"
                ),
            "\(one.stderr)"
        )
        let both = try Harness.airlock(
            ["verify", "vendors-1.tar.zst", "--key", "signer.pub", "--cosign-key", "vendor.pub", "--cosign-key", "other.pub"],
            in: root
        )
        #expect(
            both.status == 0 && both.stdout.contains("cosign: \(registry.host)/src/app:1 signed by key \(keyIDs["vendor"] ?? "?")")
                && both.stdout.contains("cosign: \(registry.host)/src/multi:1 signed by key \(keyIDs["other"] ?? "?")"),
            "\(both.stdout) \(both.stderr)"
        )
        let json = try Harness.airlock(
            [
                "verify", "vendors-1.tar.zst", "--key", "signer.pub", "--cosign-key", "vendor.pub", "--cosign-key", "other.pub",
                "--output", "json",
            ],
            in: root
        )
        let checks = (try JSONSerialization.jsonObject(with: json.data) as? [String: Any])?["imageSignatures"] as? [[String: Any]] ?? []
        #expect(checks.count == 2 && checks.allSatisfy { $0["verified"] as? Bool == true }, "\(json.stdout)")
        #expect(checks.first { $0["image"] as? String == "\(registry.host)/src/multi:1" }?["signedDigest"] as? String == digests["multi"])
        let detached = try Harness.airlock(
            ["verify", "vendors-1.tar.zst", "--key", "signer.pub", "--detached", "--cosign-key", "vendor.pub"],
            in: root
        )
        #expect(detached.status == 2 && detached.stderr.contains("verify without --detached"), "\(detached.stderr)")

        // push checks before sending anything: with one key nothing arrives, with both all does.
        func push(_ keys: [String], prefix: String) throws -> Harness.Output {
            try Harness.airlock(
                [
                    "push", "vendors-1.tar.zst", "--key", "signer.pub", "--registry", "\(registry.host)/\(prefix)", "--plain-http",
                    registry.host,
                    "--config-dir", "cfg-\(prefix)", "-q",
                ] + keys.flatMap { ["--cosign-key", $0] },
                in: root
            )
        }
        let refused = try push(["vendor.pub"], prefix: "refused")
        #expect(
            refused.status == 1 && refused.stderr.contains("src/multi:1") && refused.stderr.contains("nothing was pushed"),
            "\(refused.stderr)"
        )
        #expect(try registry.tags("refused/src/app").isEmpty && registry.tags("refused/src/multi").isEmpty)
        let accepted = try push(["vendor.pub", "other.pub"], prefix: "accepted")
        #expect(
            accepted.status == 0 && accepted.stdout.contains("cosign: \(registry.host)/src/app:1 signed by key"),
            "\(accepted.stdout) \(accepted.stderr)"
        )
        // serve holds to the same rule: with one vendor's key it does not start.
        let serve = try Harness.airlock(
            ["serve", "vendors-1.tar.zst", "--key", "signer.pub", "--cosign-key", "vendor.pub", "--listen", "127.0.0.1:0"],
            in: root
        )
        #expect(serve.status == 1 && serve.stderr.contains("src/multi:1") && serve.stderr.contains("not served"), "\(serve.stderr)")
        let signature = try Harness.run([
            "skopeo", "inspect", "--raw", "--tls-verify=false",
            "docker://\(registry.host)/accepted/src/app:sha256-\(digests["app"]?.dropFirst(7) ?? "").sig",
        ])
        #expect(signature.status == 0, "the signature is pushed beside the image, for cosign inside: \(signature.stderr)")

        // A platform subset is a new index: the vendor's signature over the source index counts, and says so.
        try pack(["multi"], as: "subset", platforms: "    platforms: [linux/amd64]\n")
        let subset = try Harness.airlock(["verify", "subset-1.tar.zst", "--key", "signer.pub", "--cosign-key", "other.pub"], in: root)
        #expect(
            subset.status == 0
                && subset.stdout.contains(
                    "(over its source index \(digests["multi"] ?? "?"): the platform subset is the bundle signer's word)"
                ),
            "\(subset.stdout) \(subset.stderr)"
        )

        // An image with no signature, or one whose signature names another digest, fails with its reason.
        try pack(["app", "plain", "stray"], as: "mixed")
        let mixed = try Harness.airlock(
            ["verify", "mixed-1.tar.zst", "--key", "signer.pub", "--cosign-key", "vendor.pub", "--output", "json"],
            in: root
        )
        let results = (try JSONSerialization.jsonObject(with: mixed.data) as? [String: Any])?["imageSignatures"] as? [[String: Any]] ?? []
        func problem(_ name: String) -> String {
            results.first { $0["image"] as? String == "\(registry.host)/src/\(name):1" }?["problem"] as? String ?? ""
        }
        #expect(mixed.status == 1 && results.count == 3 && results.first?["verified"] as? Bool == true, "\(mixed.stdout)")
        #expect(problem("plain").contains("no cosign signature travels with it"), "\(results)")
        #expect(problem("stray").contains("over sha256:abababab"), "\(results)")
        // cosign 3's Sigstore bundles: verified through their DSSE envelope, the statement's subject checked.
        try pack(["modern", "skewed"], as: "bundled")
        let bundled = try Harness.airlock(
            ["verify", "bundled-1.tar.zst", "--key", "signer.pub", "--cosign-key", "vendor.pub", "--output", "json"],
            in: root
        )
        let modern = (try JSONSerialization.jsonObject(with: bundled.data) as? [String: Any])?["imageSignatures"] as? [[String: Any]] ?? []
        #expect(
            bundled.status == 1 && modern.first?["verified"] as? Bool == true
                && modern.first?["signedDigest"] as? String == digests["modern"],
            "\(bundled.stdout)"
        )
        let skewed = modern.last?["problem"] as? String ?? ""
        #expect(skewed.contains("over sha256:abababab"), "\(modern)")
        let otherVendor = try Harness.airlock(
            ["verify", "bundled-1.tar.zst", "--key", "signer.pub", "--cosign-key", "other.pub"],
            in: root
        )
        #expect(
            otherVendor.status == 1 && otherVendor.stderr.contains("src/modern:1: none of its 1 cosign signature(s) verifies"),
            "\(otherVendor.stderr)"
        )

        // --require-attestation: each image must also carry a provenance attestation by the vendor, in either form.
        try pack(["attested", "attested3", "app"], as: "provenance")
        let provenance = try Harness.airlock(
            [
                "verify", "provenance-1.tar.zst", "--key", "signer.pub", "--cosign-key", "vendor.pub",
                "--require-attestation", slsa, "--output", "json",
            ],
            in: root
        )
        let checked =
            (try JSONSerialization.jsonObject(with: provenance.data) as? [String: Any])?["imageSignatures"] as? [[String: Any]] ?? []
        func check(_ name: String, attestation: Bool) -> [String: Any]? {
            checked.first {
                $0["image"] as? String == "\(registry.host)/src/\(name):1" && ($0["attestation"] as? String == slsa) == attestation
            }
        }
        #expect(provenance.status == 1 && checked.count == 6, "\(provenance.stdout)")
        for name in ["attested", "attested3"] {
            #expect(
                check(name, attestation: false)?["verified"] as? Bool == true
                    && check(name, attestation: true)?["verified"] as? Bool == true,
                "\(name): \(checked)"
            )
        }
        let missing = check("app", attestation: true)?["problem"] as? String ?? ""
        #expect(
            check("app", attestation: false)?["verified"] as? Bool == true
                && missing.contains("no attestation of type \(slsa) travels with it"),
            "\(checked)"
        )
        let byOther = try Harness.airlock(
            ["verify", "provenance-1.tar.zst", "--key", "signer.pub", "--cosign-key", "other.pub", "--require-attestation", slsa],
            in: root
        )
        #expect(
            byOther.status == 1 && byOther.stderr.contains("verifies with the given key(s)")
                && byOther.stderr.contains("(and 5 more failed check(s))"),
            "\(byOther.stderr)"
        )
        let keyless = try Harness.airlock(
            ["verify", "provenance-1.tar.zst", "--key", "signer.pub", "--require-attestation", slsa],
            in: root
        )
        #expect(keyless.status == 2 && keyless.stderr.contains("give --cosign-key"), "\(keyless.stderr)")

        let text = try Harness.airlock(["verify", "mixed-1.tar.zst", "--key", "signer.pub", "--cosign-key", "vendor.pub"], in: root)
        #expect(
            text.status == 1 && text.stderr.contains("image \(registry.host)/src/plain:1: no cosign signature")
                && text.stderr.contains("(and 1 more failed check(s))")
                && text.stderr.split(separator: "\n").count == 1,
            "\(text.stderr)"
        )
    }
}
