import Foundation
import TestSupport
import Testing

/// `airlock serve` fit to stay up: basic auth from an `htpasswd -B` file (apache2-utils) over TLS,
/// skopeo pulling with and without the right password; `/healthz` and `--ready-file`; the access
/// log; SIGTERM while a blob is being pulled (the pull finishes, new connections are refused);
/// limits on connections and request sizes.
@Suite(.removesTemporaryFolders, .needs(.skopeo, .python3, .openssl, .htpasswd))
struct ServeOperationsTests {
    static let password = "s3rve-pass-41"

    @Test func htpasswdUsersPullOverTLSAndOthersAreTurnedAway() throws {
        let packed = try PackedExample.make()
        let root = packed.root
        let ca = try TestCA(root: root, name: "serve CA")
        let certificate = try ca.issue("serve")
        try FileManager.default.createDirectory(atPath: "\(root)/certs", withIntermediateDirectories: true)
        #expect(try Harness.run(["cp", ca.certificate, "\(root)/certs/ca.crt"]).status == 0)
        #expect(try Harness.run(["htpasswd", "-B", "-b", "-c", "\(root)/users", "ops", Self.password]).status == 0)
        #expect(try Harness.run(["htpasswd", "-B", "-b", "\(root)/users", "auditor", "another-pass"]).status == 0)

        let serve = try ServeProcess(
            [
                packed.bundle, "--key", "signer.pub", "--tls-cert", certificate.certificate, "--tls-key", certificate.key, "--htpasswd",
                "\(root)/users", "--log-format", "json",
            ],
            in: packed.example
        )
        let image = "docker://127.0.0.1:\(serve.port)/team/app:1.4.2"
        func inspect(_ credentials: [String]) throws -> Harness.Output {
            try Harness.run(["skopeo", "inspect", "--raw", "--cert-dir", "\(root)/certs"] + credentials + [image])
        }
        let allowed = try inspect(["--creds", "ops:\(Self.password)"])
        #expect(allowed.status == 0 && allowed.stdout.contains("schemaVersion"), "\(allowed.stderr)")
        let wrong = try inspect(["--creds", "ops:not-the-password"])
        #expect(wrong.status != 0 && wrong.stderr.lowercased().contains("unauthorized"), "\(wrong.stderr)")
        let anonymous = try inspect(["--no-creds"])
        #expect(anonymous.status != 0, "no credentials, no image")
        let health = try Harness.run([
            "python3", "-c",
            "import ssl, sys, urllib.request; context = ssl.create_default_context(cafile=sys.argv[2]); "
                + "print(urllib.request.urlopen(sys.argv[1], context=context).read().decode())",
            "https://127.0.0.1:\(serve.port)/healthz", ca.certificate,
        ])
        #expect(health.status == 0 && health.stdout.hasPrefix("ok"), "/healthz answers without a password: \(health.stderr)")
        #expect(serve.stop() == 0)

        // The access log: one JSON line per request, with the client, the user and the status.
        let lines = serve.stderr.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(lines.contains { $0["user"] as? String == "ops" && $0["status"] as? Int == 200 && $0["client"] as? String == "127.0.0.1" })
        #expect(lines.contains { $0["status"] as? Int == 401 && $0["user"] == nil })
        #expect(lines.contains { $0["path"] as? String == "/healthz" && $0["status"] as? Int == 200 })
        #expect(lines.allSatisfy { $0["time"] is String && $0["milliseconds"] is Int })
        #expect(!serve.stderr.contains(Self.password), "no password in the log")

        // Passwords only over TLS, and only bcrypt entries.
        let plain = try Harness.airlock(["serve", packed.bundle, "--key", "signer.pub", "--htpasswd", "\(root)/users"], in: packed.example)
        #expect(plain.status == 2 && plain.stderr.contains("--htpasswd sends passwords: serve over TLS"), "\(plain.stderr)")
        #expect(try Harness.run(["htpasswd", "-m", "-b", "-c", "\(root)/md5", "ops", Self.password]).status == 0)
        let md5 = try Harness.airlock(
            ["serve", packed.bundle, "--key", "signer.pub", "--tls-cert", certificate.certificate, "--tls-key", certificate.key]
                + ["--htpasswd", "\(root)/md5"],
            in: packed.example
        )
        #expect(md5.status == 2 && md5.stderr.contains("line 1 is not a bcrypt entry"), "\(md5.stderr)")
    }

    @Test func sigtermLetsThePullInFlightFinishAndRefusesNewOnes() throws {
        let packed = try PackedExample.make(layerMB: 24)
        let ready = "\(packed.root)/ready"
        let serve = try ServeProcess([packed.bundle, "--key", "signer.pub", "--ready-file", ready, "-q"], in: packed.example)
        let url = try String(contentsOfFile: ready, encoding: .utf8)
        #expect(url == "http://127.0.0.1:\(serve.port)\n", "the ready file says where: \(url)")

        // The largest layer, read slowly so it is still in flight when SIGTERM arrives; 1.5 s in,
        // the client tries a new connection.
        let digest = try largestLayer(of: "team/app:1.4.2", port: serve.port)
        let pull = try SlowBlobPull(port: serve.port, repository: "team/app", digest: digest, probeAfter: 1.5, in: packed.root)
        pull.waitUntilStarted()
        #expect(serve.stop() == 0, "SIGTERM: \(serve.stderr.suffix(1000))")
        let result = try pull.result()
        #expect(result.digest == digest, "the pull in flight finished whole: \(result)")
        #expect(result.refused == true, "a new connection during the drain was refused: \(result)")
        #expect(!FileManager.default.fileExists(atPath: ready), "the ready file is removed on exit")
    }

    @Test func connectionsAndRequestSizesAreLimited() throws {
        let packed = try PackedExample.make()
        let serve = try ServeProcess([packed.bundle, "--key", "signer.pub", "--max-connections", "2", "-q"], in: packed.example)
        let result = try Harness.run([
            "python3", "-c",
            """
            import json, socket, sys
            port = int(sys.argv[1])
            def ask(connection, request):
                connection.sendall(request)
                answer = b""
                while b"\\r\\n\\r\\n" not in answer:
                    answer += connection.recv(4096)
                return answer.split(b" ")[1].decode()
            kept = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
            statuses = [ask(c, b"GET /v2/ HTTP/1.1\\r\\nHost: serve\\r\\n\\r\\n") for c in kept]
            third = socket.create_connection(("127.0.0.1", port))
            statuses.append(ask(third, b"GET /v2/ HTTP/1.1\\r\\nHost: serve\\r\\n\\r\\n"))
            third.close()
            kept[0].close()
            long_uri = b"GET /v2/" + b"a" * 10000 + b"/tags/list HTTP/1.1\\r\\nHost: serve\\r\\n\\r\\n"
            statuses.append(ask(kept[1], long_uri))
            body = socket.create_connection(("127.0.0.1", port))
            statuses.append(ask(body, b"GET /v2/ HTTP/1.1\\r\\nHost: serve\\r\\nContent-Length: 200000\\r\\n\\r\\n" + b"x" * 200000))
            print(json.dumps(statuses))
            """, "\(serve.port)",
        ])
        #expect(serve.stop() == 0)
        try #require(result.status == 0, "\(result.stderr)")
        let statuses = try #require(try JSONSerialization.jsonObject(with: result.data) as? [String])
        #expect(statuses == ["200", "200", "503", "414", "413"], "\(statuses)")
    }
}
