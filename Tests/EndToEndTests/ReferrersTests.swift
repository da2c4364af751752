import Foundation
import Testing

/// `referrers: true`: a signature (cosign's tag scheme) and an SBOM (an OCI 1.1 artifact, listed
/// through the referrers tag schema because docker-registry 2.8 has no referrers API) travel with
/// their image and come out under the same names on the other side. The artifacts are attached by
/// Tests/Fixtures/seed-referrers.py, standing in for cosign and oras (not installable here).
@Suite(.enabled(if: Harness.toolsAvailable("docker-registry", "skopeo", "python3")))
struct ReferrersTests {
    @Test func signaturesAndSBOMsAreCarriedAndPushedUnderTheirNames() throws {
        let registry = try TestRegistry(tls: false)
        defer { registry.stop() }
        let root = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let example = try Harness.makeExample(in: root, dockerArchive: false)
        let copy = try Harness.run(["skopeo", "copy", "--quiet", "--dest-tls-verify=false", "oci:\(example)/build/oci:app-1.4.2",
                                    "docker://\(registry.host)/src/app:1"])
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
        let image = try #require(((try JSONSerialization.jsonObject(with: pack.data) as? [String: Any])?["images"] as? [[String: Any]])?.first)
        let referrers = (image["referrers"] as? [[String: Any]]) ?? []
        let byRef = Dictionary(referrers.map { ($0["ref"] as? String ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        let signature = try #require(byRef["\(registry.host)/src/app:sha256-\(hex).sig"], "\(referrers)")
        #expect(signature["via"] as? String == "cosign-tag" && signature["subject"] as? String == subject)
        let sbom = try #require(referrers.first { $0["artifactType"] as? String == "application/spdx+json" && $0["via"] as? String == "referrers-tag" })
        #expect((sbom["ref"] as? String)?.hasPrefix("\(registry.host)/src/app@sha256:") == true)
        #expect(byRef["\(registry.host)/src/app:sha256-\(hex)"] != nil, "the tag schema's index travels too")
        let inspect = try Harness.airlock(["inspect", "signed-1.tar.zst"], in: root)
        #expect(inspect.stdout.contains("referrer application/spdx+json"), "\(inspect.stdout)")

        // Pushed elsewhere, each keeps its name and digest, so cosign and oras find them there.
        let push = try Harness.airlock(["push", "signed-1.tar.zst", "--allow-unsigned", "--registry", "\(registry.host)/mirror", "--plain-http",
                                        registry.host, "-q", "--config-dir", "cfg"], in: root)
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
        let listed = try Harness.run(["python3", "-c", """
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
                              "unknownRepository": get("/v2/src/nothing/referrers/" + subject)[0]}))
            """, "\(serve.port)", subject])
        let answers = try #require(try JSONSerialization.jsonObject(with: listed.data) as? [String: Any], "\(listed.stderr)")
        #expect(answers["status"] as? Int == 200 && answers["type"] as? String == "application/vnd.oci.image.index.v1+json")
        #expect(answers["all"] as? [[String]] == [["application/spdx+json", sbomDigest]], "\(answers)")
        #expect(answers["spdx"] as? [String] == ["artifactType"] && answers["spdxCount"] as? Int == 1 && answers["otherCount"] as? Int == 0)
        #expect(answers["unknownSubject"] as? Int == 0 && answers["unknownRepository"] as? Int == 404)
        let served = try Harness.run(["skopeo", "inspect", "--raw", "--tls-verify=false", "docker://127.0.0.1:\(serve.port)/src/app:sha256-\(hex).sig"])
        #expect(try "sha256:" + Harness.run(["sha256sum"], stdin: served.data).stdout.prefix(64) == signature["digest"] as? String ?? "")
        #expect(serve.stop() == 0, "\(serve.stderr.suffix(3000))")

        // Without referrers: true nothing else comes along; on a layout it is refused.
        try String(contentsOfFile: "\(root)/airlock.yaml", encoding: .utf8).replacingOccurrences(of: "referrers: true", with: "referrers: false")
            .write(toFile: "\(root)/airlock.yaml", atomically: true, encoding: .utf8)
        let plain = try Harness.airlock(["pack", "-q", "--output", "json", "--plain-http", registry.host, "-o", "plain.tar.zst"], in: root)
        let plainImage = ((try JSONSerialization.jsonObject(with: plain.data) as? [String: Any])?["images"] as? [[String: Any]])?.first
        #expect(plain.status == 0 && plainImage?["referrers"] == nil)
        try "apiVersion: airlock/v1\nkind: Bundle\nmetadata: {name: x, version: \"1\"}\nimages:\n  - layout: \(example)/build/oci\n    select: app-1.4.2\n    referrers: true\n"
            .write(toFile: "\(root)/airlock.yaml", atomically: true, encoding: .utf8)
        let refused = try Harness.airlock(["pack", "-q"], in: root)
        #expect(refused.status == 2 && refused.stderr.contains("referrers: true applies to images pulled with ref:"), "\(refused.stderr)")
    }

    /// The OCI 1.1 referrers API path. No registry installable here has the API, so a read-only
    /// stand-in (Tests/Fixtures/referrers-registry.py) serves the example layout and lists an SBOM
    /// only through GET /v2/<name>/referrers/<digest>.
    @Test func theReferrersAPIIsAskedFirst() throws {
        let root = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let example = try Harness.makeExample(in: root, dockerArchive: false)
        let (stub, host) = try PythonServer.exampleRegistry(example: example, root: root, bundleName: "api", image: "referrers: true")
        defer { stub.stop() }
        let pack = try Harness.airlock(["pack", "-q", "--output", "json", "--plain-http", host], in: root)
        try #require(pack.status == 0, "\(pack.stderr)")
        let image = ((try JSONSerialization.jsonObject(with: pack.data) as? [String: Any])?["images"] as? [[String: Any]])?.first
        let referrers = (image?["referrers"] as? [[String: Any]]) ?? []
        #expect(referrers.count == 1, "\(referrers)")
        #expect(referrers.first?["via"] as? String == "referrers-api" && referrers.first?["artifactType"] as? String == "application/spdx+json")
        #expect((referrers.first?["ref"] as? String)?.hasPrefix("\(host)/src/app@sha256:") == true)
        #expect(try Harness.airlock(["verify", "api-1.tar.zst", "--allow-unsigned"], in: root).status == 0)
    }
}
