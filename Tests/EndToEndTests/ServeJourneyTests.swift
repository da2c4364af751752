import Foundation
import TestSupport
import Testing

/// The operator without a registry yet: `airlock serve` answers the pull side of the distribution
/// API from the bundle, checked with skopeo (pulling from it into a real docker-registry) and with
/// raw HTTP requests.
@Suite(.removesTemporaryFolders, .needs(.dockerRegistry, .skopeo, .zstd, .python3, .openssl))
struct ServeJourneyTests {
    @Test func everyImageAndChartIsServedByteForByteUnderThePathsPushWouldGive() throws {
        let packed = try PackedExample.make()
        let registry = try TestRegistry(tls: false)
        defer { registry.stop() }
        let serve = try ServeProcess(
            [packed.bundle, "--key", "signer.pub", "--prefix", "mirror", "--config-dir", "nodes", "--output", "json"],
            in: packed.example
        )
        let listening = try serve.listening()
        #expect(listening["url"] as? String == "http://127.0.0.1:\(serve.port)")
        let served = try #require(listening["images"] as? [[String: String]])
        #expect(served.count == 4)

        // The same names as a push under the same prefix.
        let push = try Harness.airlock(
            [
                "push", packed.bundle, "--registry", "\(registry.host)/mirror", "--plain-http", registry.host,
                "--key", "signer.pub", "--config-dir", "cfg", "--output", "json",
            ],
            in: packed.example
        )
        try #require(push.status == 0, "push: \(push.stderr)")
        let pushed = try #require((try JSONSerialization.jsonObject(with: push.data) as? [String: Any])?["images"] as? [[String: String]])
        func paths(_ images: [[String: String]], host: String) -> Set<String> {
            Set(
                images.compactMap { image in
                    image["target"].map {
                        "\(image["source"] ?? "") \($0.replacingOccurrences(of: host, with: "HOST")) \(image["digest"] ?? "")"
                    }
                }
            )
        }
        #expect(paths(served, host: "127.0.0.1:\(serve.port)") == paths(pushed, host: registry.host))

        // skopeo pulls every image (all platforms) from the server into a real registry, unchanged.
        for image in served {
            let target = try #require(image["target"])
            let raw = try Harness.run(["skopeo", "inspect", "--raw", "--tls-verify=false", "docker://\(target)"])
            #expect(raw.status == 0, "\(target): \(raw.stderr)")
            #expect(try "sha256:" + Harness.run(["sha256sum"], stdin: raw.data).stdout.prefix(64) == image["digest"] ?? "")
            let path = target.replacingOccurrences(of: "127.0.0.1:\(serve.port)/", with: "")
            let copy = try Harness.run([
                "skopeo", "copy", "--quiet", "--all", "--preserve-digests", "--src-tls-verify=false", "--dest-tls-verify=false",
                "docker://\(target)", "docker://\(registry.host)/copied/\(path)",
            ])
            #expect(copy.status == 0, "\(target): \(copy.stderr)")
            let copied = try Harness.run(["skopeo", "inspect", "--raw", "--tls-verify=false", "docker://\(registry.host)/copied/\(path)"])
            #expect(copied.data == raw.data, "\(path) changed on the way")
        }

        // The node configs send pulls of the source registry to the server: skopeo, given the
        // containers registries.conf written, pulls registry.example.com/team/app from it.
        let conf = "\(packed.example)/nodes/containers/registries.conf"
        let viaMirror = try Harness.run([
            "skopeo", "--registries-conf", conf, "inspect", "--raw", "docker://registry.example.com/team/app:1.4.2",
        ])
        #expect(viaMirror.status == 0, "\(viaMirror.stderr)")
        let app = try #require(served.first { $0["source"] == "registry.example.com/team/app:1.4.2" })
        #expect(try "sha256:" + Harness.run(["sha256sum"], stdin: viaMirror.data).stdout.prefix(64) == app["digest"] ?? "")
        let hosts = try String(
            contentsOfFile: "\(packed.example)/nodes/containerd/certs.d/registry.example.com/hosts.toml",
            encoding: .utf8
        )
        #expect(
            hosts.contains("[host.\"http://127.0.0.1:\(serve.port)/v2/mirror\"]") && hosts.hasPrefix("# Written by airlock serve"),
            "\(hosts)"
        )
        #expect((listening["configFiles"] as? [String])?.count == 5)

        // The protocol details clients rely on, request by request.
        let chart = try #require(served.first { $0["kind"] == "chart" }?["target"])
        let answers = try rawRequests(port: serve.port, chart: String(chart.split(separator: "/", maxSplits: 1)[1]))
        #expect(answers["ping"] as? [String] == ["200", "registry/2.0"])
        #expect(
            answers["catalog"] as? [String] == ["mirror/charts/platform", "mirror/team/app", "mirror/team/multi", "mirror/team/worker"]
        )
        #expect(answers["tags"] as? [String] == ["1.4.2"])
        // Paged two at a time by following the Link headers: the same names, in two pages.
        let pages = answers["catalogPages"] as? [Any]
        #expect(pages?.first as? Int == 2 && pages?.last as? [String] == answers["catalog"] as? [String], "\(pages ?? [])")
        #expect(answers["tagsAfterLast"] as? [String] == [])
        #expect(answers["badPage"] as? String == "400 PAGINATION_NUMBER_INVALID")
        #expect(answers["manifest"] as? String == "digest matches")
        #expect(answers["head"] as? String == "200, same length, no body")
        #expect(answers["blob"] as? String == "digest matches")
        #expect(answers["range"] as? String == "206 bytes 10-end, the tail")
        #expect(answers["unsatisfiable"] as? String == "416")
        #expect(answers["unknown"] as? [String] == ["404 NAME_UNKNOWN", "404 MANIFEST_UNKNOWN", "404 BLOB_UNKNOWN"])
        #expect(answers["push"] as? [String] == ["405 UNSUPPORTED", "405 UNSUPPORTED"])

        #expect(serve.stop() == 0, "SIGTERM ends it cleanly: \(serve.stderr.suffix(3000))")
        #expect(
            serve.stderr.contains("\"path\":\"/v2/mirror/team/app/manifests/1.4.2\""),
            "requests are logged: \(serve.stderr.prefix(300))"
        )
    }

    @Test func aBundleWithATamperedLayerIsNotServed() throws {
        // Every blob is read against the statement before the server listens: a tampered layer
        // is named at once, and nothing is served.
        let packed = try PackedExample.make()
        let digest = try packed.flipAByteOfTheLargestStoredLayer()
        let serve = try Harness.airlock(["serve", packed.bundle, "--key", "signer.pub", "--listen", "127.0.0.1:0"], in: packed.example)
        #expect(serve.status == 1)
        #expect(
            serve.stderr == """
                airlock: \(packed.bundle): blob sha256:\(digest) does not match its signed digest (got other bytes): tampered or \
                corrupted; nothing is served from it (airlock verify \(packed.bundle) names every damaged entry)

                """,
            "\(serve.stderr)"
        )
        #expect(serve.stdout.isEmpty, "it never said it was serving: \(serve.stdout)")
    }

    @Test func aLayerTamperedWhileServedIsCutOffSoNoClientReceivesItWhole() throws {
        // Checked whole at the start, then altered in place: the bundle file's change time moved,
        // so every blob is hashed again on the way out.
        let packed = try PackedExample.make()
        let serve = try ServeProcess([packed.bundle, "--key", "signer.pub"], in: packed.example)
        let digest = try packed.flipAByteOfTheLargestStoredLayer()
        let check = try Harness.run([
            "python3", "-c",
            """
            import http.client, json, sys
            port, digest = int(sys.argv[1]), sys.argv[2]
            connection = http.client.HTTPConnection("127.0.0.1", port)
            connection.request("GET", "/v2/_catalog")
            for repository in json.load(connection.getresponse())["repositories"]:
                connection = http.client.HTTPConnection("127.0.0.1", port)
                connection.request("GET", "/v2/%s/blobs/sha256:%s" % (repository, digest))
                response = connection.getresponse()
                if response.status == 404:
                    response.read(); continue
                try:
                    body = response.read()
                    print(repository, "complete", len(body))
                except http.client.IncompleteRead as cut:
                    print(repository, "cut off after %d of %s bytes" % (len(cut.partial), response.getheader("Content-Length")))
                break
            """, "\(serve.port)", digest,
        ])
        let words = check.stdout.split(separator: " ", maxSplits: 1).map(String.init)
        #expect(words.count == 2 && words[1].hasPrefix("cut off after"), "\(check.stdout) \(check.stderr)")
        let holder = try #require(words.first)
        func pull(_ repository: String) throws -> Harness.Output {
            try Harness.run([
                "skopeo", "copy", "--quiet", "--all", "--src-tls-verify=false", "docker://127.0.0.1:\(serve.port)/\(repository):1.4.2",
                "oci:\(packed.root)/pulled-\(repository.replacingOccurrences(of: "/", with: "-")):1",
            ])
        }
        #expect(try pull(holder).status != 0, "\(holder) holds the tampered blob and cannot be pulled")
        let other = holder == "team/worker" ? "team/app" : "team/worker"
        let untouched = try pull(other)
        #expect(untouched.status == 0, "\(other) does not hold it: \(untouched.stderr)")
        #expect(serve.stop() == 0, "\(serve.stderr.suffix(3000))")
        #expect(
            serve.stderr.contains("/blobs/sha256:\(digest) 200") && serve.stderr.contains("cut off:")
                && serve.stderr.contains("does not match its digest"),
            "\(serve.stderr)"
        )
    }

    @Test func aSlowClientThatAsksToCloseGetsTheWholeBlob() throws {
        // skopeo sends `Connection: close` and reads while it decompresses; a server that closes
        // once it has queued the answer drops what the socket has not taken yet.
        let packed = try PackedExample.make(layerMB: 32)
        let serve = try ServeProcess([packed.bundle, "--key", "signer.pub"], in: packed.example)
        let check = try Harness.run([
            "python3", "-c",
            """
            import hashlib, http.client, json, sys, time
            port = int(sys.argv[1])
            connection = http.client.HTTPConnection("127.0.0.1", port)
            connection.request("GET", "/v2/team/app/manifests/1.4.2", headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
            layer = max(json.load(connection.getresponse())["layers"], key=lambda layer: layer["size"])
            connection = http.client.HTTPConnection("127.0.0.1", port)
            connection.request("GET", "/v2/team/app/blobs/" + layer["digest"], headers={"Connection": "close"})
            response = connection.getresponse()
            time.sleep(1)
            body = b""
            while True:
                piece = response.read(65536)
                if not piece: break
                body += piece
                time.sleep(0.001)
            print(layer["size"], len(body), "sha256:" + hashlib.sha256(body).hexdigest() == layer["digest"])
            """, "\(serve.port)",
        ])
        let fields = check.stdout.split(separator: " ").map(String.init)
        #expect(
            fields.count == 3 && fields[0] == fields[1] && fields[2].hasPrefix("True") && (Int(fields[0]) ?? 0) > 16 << 20,
            "size, received, digest matches: \(check.stdout) \(check.stderr)"
        )
        #expect(serve.stop() == 0, "\(serve.stderr.suffix(3000))")
    }

    @Test func anUnpackedFolderIsServedOverTLS() throws {
        let packed = try PackedExample.make()
        let dir = packed.example
        #expect(try Harness.airlock(["unpack", packed.bundle, "-o", "unpacked", "--key", "signer.pub"], in: dir).status == 0)
        let ca = try TestCA(root: packed.root)
        let server = try ca.issue("serve")
        try FileManager.default.createDirectory(atPath: "\(packed.root)/certs.d", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: ca.certificate, toPath: "\(packed.root)/certs.d/ca.crt")
        let serve = try ServeProcess(
            [
                "unpacked", "--key", "signer.pub", "--tls-cert", server.certificate, "--tls-key", server.key,
                "--output", "json",
            ],
            in: dir
        )
        let listening = try serve.listening()
        #expect(listening["url"] as? String == "https://127.0.0.1:\(serve.port)")
        let app = try #require(
            (listening["images"] as? [[String: String]])?.first { $0["source"] == "registry.example.com/team/app:1.4.2" }
        )
        let raw = try Harness.run([
            "skopeo", "inspect", "--raw", "--cert-dir", "\(packed.root)/certs.d", "docker://127.0.0.1:\(serve.port)/team/app:1.4.2",
        ])
        #expect(raw.status == 0, "\(raw.stderr)")
        #expect(try "sha256:" + Harness.run(["sha256sum"], stdin: raw.data).stdout.prefix(64) == app["digest"] ?? "")
        let pulled = try Harness.run([
            "skopeo", "copy", "--quiet", "--src-cert-dir", "\(packed.root)/certs.d",
            "docker://127.0.0.1:\(serve.port)/team/app:1.4.2", "oci:\(packed.root)/pulled:app",
        ])
        #expect(pulled.status == 0, "\(pulled.stderr)")

        // A layer file altered in place after the start is hashed again on the way out, and cut off.
        let manifest = try #require(try JSONSerialization.jsonObject(with: raw.data) as? [String: Any])
        let layer = try #require((manifest["layers"] as? [[String: Any]])?.first?["digest"] as? String)
        let file = try #require(FileHandle(forUpdatingAtPath: "\(dir)/unpacked/oci/blobs/sha256/\(layer.dropFirst(7))"))
        let first = try #require(try file.read(upToCount: 1))
        try file.seek(toOffset: 0)
        try file.write(contentsOf: Data([first[0] ^ 0x01]))
        try file.close()
        let again = try Harness.run([
            "skopeo", "copy", "--quiet", "--src-cert-dir", "\(packed.root)/certs.d",
            "docker://127.0.0.1:\(serve.port)/team/app:1.4.2", "oci:\(packed.root)/pulled-again:app",
        ])
        #expect(again.status != 0, "the altered layer was not cut off")
        #expect(serve.stop() == 0, "\(serve.stderr.suffix(3000))")
        #expect(serve.stderr.contains("does not match its digest"), "\(serve.stderr.suffix(3000))")
    }

    /// Raw requests against the server (python's http.client), summarised for the assertions.
    func rawRequests(port: Int, chart: String) throws -> [String: Any] {
        let result = try Harness.run([
            "python3", "-c",
            """
            import hashlib, http.client, json, sys
            port, chart = int(sys.argv[1]), sys.argv[2]
            def call(method, path, headers={}):
                connection = http.client.HTTPConnection("127.0.0.1", port)
                connection.request(method, path, headers=headers)
                response = connection.getresponse()
                return response.status, response, response.read()
            def code(answer):
                return "%d %s" % (answer[0], json.loads(answer[2])["errors"][0]["code"])
            out = {}
            status, response, body = call("GET", "/v2/")
            out["ping"] = [str(status), response.getheader("Docker-Distribution-API-Version")]
            out["catalog"] = json.loads(call("GET", "/v2/_catalog")[2])["repositories"]
            out["tags"] = json.loads(call("GET", "/v2/mirror/team/app/tags/list")[2])["tags"]
            pages, names, path = 0, [], "/v2/_catalog?n=2"
            while path and pages < 20:
                status, response, body = call("GET", path)
                names += json.loads(body)["repositories"]
                pages += 1
                link = response.getheader("Link")
                path = link[link.index("<") + 1:link.index(">")] if link else None
            out["catalogPages"] = [pages, names]
            out["tagsAfterLast"] = json.loads(call("GET", "/v2/mirror/team/app/tags/list?last=1.4.2")[2])["tags"]
            out["badPage"] = code(call("GET", "/v2/_catalog?n=two"))
            status, response, manifest = call("GET", "/v2/mirror/team/app/manifests/1.4.2", {"Accept": \
            "application/vnd.oci.image.manifest.v1+json"})
            digest = response.getheader("Docker-Content-Digest")
            out["manifest"] = "digest matches" if digest == "sha256:" + hashlib.sha256(manifest).hexdigest() else "differs"
            status, response, empty = call("HEAD", "/v2/mirror/team/app/manifests/1.4.2")
            out["head"] = "%d, %s, %s" % (status, "same length" if int(response.getheader("Content-Length")) == len(manifest) else \
            "other length", "no body" if not empty else "a body")
            name, tag = chart.rsplit(":", 1)
            layer = json.loads(call("GET", "/v2/%s/manifests/%s" % (name, tag))[2])["layers"][0]
            status, response, blob = call("GET", "/v2/%s/blobs/%s" % (name, layer["digest"]))
            out["blob"] = "digest matches" if status == 200 and "sha256:" + hashlib.sha256(blob).hexdigest() == layer["digest"] and \
            len(blob) == layer["size"] else "differs"
            status, response, tail = call("GET", "/v2/%s/blobs/%s" % (name, layer["digest"]), {"Range": "bytes=10-"})
            good = status == 206 and tail == blob[10:] and response.getheader("Content-Range") == "bytes 10-%d/%d" % (len(blob) - 1, \
            len(blob))
            out["range"] = "206 bytes 10-end, the tail" if good else "%d %s" % (status, response.getheader("Content-Range"))
            out["unsatisfiable"] = str(call("GET", "/v2/%s/blobs/%s" % (name, layer["digest"]), {"Range": "bytes=%d-" % len(blob)})[0])
            out["unknown"] = [code(call("GET", "/v2/mirror/nothing/manifests/1")), code(call("GET", "/v2/mirror/team/app/manifests/9.9.9")),
                              code(call("GET", "/v2/mirror/team/app/blobs/sha256:" + "0" * 64))]
            out["push"] = [code(call("PUT", "/v2/mirror/team/app/manifests/evil", {"Content-Type": "application/json"})),
                           code(call("POST", "/v2/mirror/team/app/blobs/uploads/"))]
            print(json.dumps(out))
            """, "\(port)", chart,
        ])
        try #require(result.status == 0, "\(result.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: result.data) as? [String: Any])
    }
}
