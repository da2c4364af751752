import Foundation
import TestSupport
import Testing

/// Pulling from a registry with bearer-token auth: Debian's docker-registry configured with
/// `auth: token`, and a small token issuer (Tests/Fixtures/token-issuer.py, over HTTPS with a test
/// CA) whose ES256 tokens the registry itself validates.
@Suite(.removesTemporaryFolders, .needs(.dockerRegistry, .skopeo, .openssl, .python3), .enabled(if: Harness.isCI || Mitmproxy.installed))
struct TokenAuthTests {
    static let username = "builder"
    static let password = "token-pass-7c1e"

    static func tokenKeys(root: String) throws -> (ca: TestCA, tls: (certificate: String, key: String)) {
        try TokenService.keys(root: root)
    }

    static func tokenRegistry(
        root: String,
        tls: (certificate: String, key: String),
        log: String,
        environment: [String: String] = [:]
    ) throws -> (issuer: PythonServer, registry: TestRegistry) {
        try TokenService.start(root: root, tls: tls, log: log, username: username, password: password, environment: environment)
    }

    @Test func packPullsThroughTheTokenFlowWithCachedTokensAndClearErrors() throws {
        let root = try Harness.temporaryDirectory("token")
        let (ca, tlsCertificate) = try Self.tokenKeys(root: root)
        let log = "\(root)/tokens.log"
        let (issuer, registry) = try Self.tokenRegistry(root: root, tls: tlsCertificate, log: log)
        defer { issuer.stop() }
        defer { registry.stop() }

        // Seed with skopeo, through the same token flow.
        let example = try Harness.makeExample(in: root, dockerArchive: false)
        let creds = ["--dest-creds", "\(Self.username):\(Self.password)", "--dest-tls-verify=false"]
        for (source, target, extra) in [("app-1.4.2", "src/app:oci", [String]()), ("multi-1.4.2", "src/multi:1.4.2", ["--all"])] {
            let copy = try Harness.run(
                ["skopeo", "copy", "--quiet"] + extra + creds + [
                    "oci:\(example)/build/oci:\(source)", "docker://\(registry.host)/\(target)",
                ]
            )
            try #require(copy.status == 0, "seed \(target): \(copy.stderr)")
        }
        func rawDigest(_ reference: String) throws -> String {
            let raw = try Harness.run([
                "skopeo", "inspect", "--raw", "--tls-verify=false", "--creds", "\(Self.username):\(Self.password)",
                "docker://\(registry.host)/\(reference)",
            ])
            try #require(raw.status == 0, "\(raw.stderr)")
            return "sha256:" + (try Harness.run(["sha256sum"], stdin: raw.data).stdout.prefix(64))
        }
        try """
        apiVersion: airlock/v1
        kind: Bundle
        metadata: {name: tokens, version: "1", created: "2026-11-01T00:00:00Z"}
        images:
          - ref: \(registry.host)/src/app:oci
          - ref: \(registry.host)/src/multi:1.4.2
        """.write(toFile: "\(root)/airlock.yaml", atomically: true, encoding: .utf8)
        let environment = ["DOCKER_CONFIG": "\(root)/docker", "HTTPS_PROXY": "", "https_proxy": "", "NO_PROXY": "", "no_proxy": ""]
        let flags = ["--plain-http", registry.host, "--ca-file", ca.certificate]
        let bundle = "\(root)/tokens-1.tar.zst"

        // No credentials: the issuer grants nothing, the registry refuses; one line, no bundle.
        let anonymous = try Harness.airlock(["pack", "-q"] + flags, in: root, environment: environment)
        #expect(anonymous.status == 3 && anonymous.stderr.contains("airlock login \(registry.host)"), "\(anonymous.stderr)")
        #expect(anonymous.stderr.split(separator: "\n").count == 1 && !FileManager.default.fileExists(atPath: bundle))

        // Wrong password: the token service refuses it, and the password is never printed.
        let wrong = try Harness.run(
            [Harness.airlock, "login", registry.host, "-u", Self.username, "--password-stdin"] + flags,
            environment: environment,
            stdin: Data("not-the-password".utf8)
        )
        #expect(wrong.status == 3 && wrong.stderr.contains("refused") && !wrong.stderr.contains("not-the-password"), "\(wrong.stderr)")

        // airlock login checks the credentials through the token flow and stores them.
        let login = try Harness.run(
            [Harness.airlock, "login", registry.host, "-u", Self.username, "--password-stdin"] + flags,
            environment: environment,
            stdin: Data(Self.password.utf8)
        )
        try #require(login.status == 0, "login: \(login.stderr)")
        try "".write(toFile: log, atomically: true, encoding: .utf8)

        let pack = try Harness.airlock(["pack", "-q", "--output", "json"] + flags, in: root, environment: environment)
        try #require(pack.status == 0, "pack: \(pack.stderr)")
        // Tokens went to the stored user and were cached: one request per repository scope (read
        // now, before skopeo asks the issuer for tokens of its own).
        let requests = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
            .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(
            !requests.isEmpty
                && requests.allSatisfy { $0["user"] as? String == Self.username && $0["service"] as? String == "airlock-registry" }
        )
        let scopes = requests.flatMap { ($0["scopes"] as? [String]) ?? [] }
        #expect(scopes.filter { $0 == "repository:src/app:pull" }.count == 1, "token cache: \(scopes)")
        #expect(scopes.filter { $0 == "repository:src/multi:pull" }.count == 1, "token cache: \(scopes)")
        let images = ((try JSONSerialization.jsonObject(with: pack.data) as? [String: Any])?["images"] as? [[String: Any]]) ?? []
        let digests = Dictionary(
            images.map { ($0["name"] as? String ?? "", $0["digest"] as? String ?? "") },
            uniquingKeysWith: { a, _ in a }
        )
        #expect(digests["\(registry.host)/src/app:oci"] == (try rawDigest("src/app:oci")))
        #expect(digests["\(registry.host)/src/multi:1.4.2"] == (try rawDigest("src/multi:1.4.2")))
        let verify = try Harness.airlock(["verify", bundle, "--allow-unsigned"], in: root)
        #expect(verify.status == 0, "\(verify.stderr)")

        // An inventory of the same registry lists its catalog through the token flow
        // (registry:catalog:*), as the stored user; anonymous, the catalog is refused in one line.
        let inventory = try Harness.airlock(
            ["inventory", "--registry", registry.host, "-o", "inventory.json", "-q", "--output", "json"] + flags,
            in: root,
            environment: environment
        )
        #expect(
            inventory.status == 0
                && (try? JSONSerialization.jsonObject(with: inventory.data) as? [String: Any])?["repositories"] as? Int == 2,
            "\(inventory.stdout) \(inventory.stderr)"
        )
        #expect(try String(contentsOfFile: log, encoding: .utf8).contains("registry:catalog:*"))
        let listed = try String(contentsOfFile: "\(root)/inventory.json", encoding: .utf8)
        #expect(listed.contains("\"src/app\"") && listed.contains("\"src/multi\""), "\(listed)")
        let anonymousInventory = try Harness.airlock(
            ["inventory", "--registry", registry.host, "-o", "anonymous.json", "-q"] + flags,
            in: root,
            environment: environment.merging(["DOCKER_CONFIG": "\(root)/nobody"]) { $1 }
        )
        #expect(
            anonymousInventory.status == 3 && anonymousInventory.stderr.contains("airlock login")
                && anonymousInventory.stderr.split(separator: "\n").count == 1
                && !FileManager.default.fileExists(atPath: "\(root)/anonymous.json"),
            "\(anonymousInventory.stderr)"
        )
    }
}

extension TokenAuthTests {
    /// Pushing through bearer tokens: a cross-repository mount asks for a token with two scopes
    /// (push on the target, pull on the source); a token service that grants only the first makes
    /// the mount fail with 401, and the blob is uploaded instead. Tokens that expire after two
    /// seconds though they say 300 (a slow chunked push, through the hostile proxy's slowPatch)
    /// are fetched again, and the push finishes. The token service answers every request with a
    /// redirect first (a load balancer in front of it), which is followed.
    @Test(arguments: [false, true])
    func pushesThroughTheTokenFlowWithTwoScopeMountsAndShortTokens(firstScopeOnly: Bool) throws {
        let root = try Harness.temporaryDirectory("token-push")
        let (ca, tlsCertificate) = try Self.tokenKeys(root: root)
        let log = "\(root)/tokens.log"
        var issuerEnvironment = ["TOKEN_TTL": "2", "REDIRECT": "1"]
        if firstScopeOnly { issuerEnvironment["FIRST_SCOPE_ONLY"] = "1" }
        let (issuer, registry) = try Self.tokenRegistry(root: root, tls: tlsCertificate, log: log, environment: issuerEnvironment)
        defer { issuer.stop() }
        defer { registry.stop() }
        if firstScopeOnly {
            // A user whose token grants pull only: the registry answers 401 insufficient_scope,
            // said as a missing permission (not as wrong credentials); a wrong password gets the
            // token service's own words.
            let (readOnly, limited) = try Self.tokenRegistry(root: root, tls: tlsCertificate, log: log, environment: ["READ_ONLY": "1"])
            defer { readOnly.stop() }
            defer { limited.stop() }
            let packed = try PackedExample.make()
            let environment = ["DOCKER_CONFIG": "\(root)/limited", "HTTPS_PROXY": "", "https_proxy": "", "NO_PROXY": "", "no_proxy": ""]
            try FileManager.default.createDirectory(atPath: "\(root)/limited", withIntermediateDirectories: true)
            let auth = Data("\(Self.username):\(Self.password)".utf8).base64EncodedString()
            try #"{"auths": {"\#(limited.host)": {"auth": "\#(auth)"}}}"#.write(
                toFile: "\(root)/limited/config.json",
                atomically: true,
                encoding: .utf8
            )
            let push = try Harness.airlock(
                [
                    "push", packed.bundle, "--registry", "\(limited.host)/m", "--key", "signer.pub", "-q", "--config-dir", "cfg",
                    "--plain-http", limited.host, "--ca-file", ca.certificate,
                ],
                in: packed.example,
                environment: environment
            )
            #expect(
                push.status == 3 && push.stderr.contains("the credentials are valid but lack permission for repository:m/"),
                "\(push.stderr)"
            )
            let badAuth = Data("\(Self.username):wrong".utf8).base64EncodedString()
            try #"{"auths": {"\#(limited.host)": {"auth": "\#(badAuth)"}}}"#.write(
                toFile: "\(root)/limited/config.json",
                atomically: true,
                encoding: .utf8
            )
            let wrong = try Harness.airlock(
                [
                    "push", packed.bundle, "--registry", "\(limited.host)/m", "--key", "signer.pub", "-q", "--config-dir", "cfg",
                    "--plain-http", limited.host, "--ca-file", ca.certificate,
                ],
                in: packed.example,
                environment: environment
            )
            #expect(
                wrong.status == 3 && wrong.stderr.contains("incorrect username or password"),
                "the token service's words: \(wrong.stderr)"
            )
        }
        let proxyLog = "\(root)/proxy.log"
        _ = FileManager.default.createFile(atPath: proxyLog, contents: nil)
        let proxy = try PythonServer(fixture: "hostile-registry.py", arguments: ["http://\(registry.host)", proxyLog, "slowPatch=0.3"])
        defer { proxy.stop() }
        let host = "127.0.0.1:\(proxy.port)"
        let packed = try PackedExample.make(layerMB: 1)
        let environment = ["DOCKER_CONFIG": "\(root)/docker", "HTTPS_PROXY": "", "https_proxy": "", "NO_PROXY": "", "no_proxy": ""]
        let flags = ["--plain-http", host, "--ca-file", ca.certificate]
        let login = try Harness.run(
            [Harness.airlock, "login", host, "-u", Self.username, "--password-stdin"] + flags,
            environment: environment,
            stdin: Data(Self.password.utf8)
        )
        try #require(login.status == 0, "login: \(login.stderr)")
        let push = try Harness.airlock(
            [
                "push", packed.bundle, "--registry", "\(host)/mirror", "--key", "signer.pub", "--config-dir", "cfg",
                "-q", "--output", "json", "--chunk-size", "262144", "--jobs", "1",
            ] + flags,
            in: packed.example,
            environment: environment
        )
        try #require(push.status == 0, "push: \(push.stderr)")
        #expect(!push.stderr.contains(Self.password) && !push.stdout.contains(Self.password))
        let report = try #require(try JSONSerialization.jsonObject(with: push.data) as? [String: Any])
        for image in (report["images"] as? [[String: String]]) ?? [] {
            let target = try #require(image["target"]).replacingOccurrences(of: host, with: registry.host)
            let raw = try Harness.run([
                "skopeo", "inspect", "--raw", "--tls-verify=false", "--creds", "\(Self.username):\(Self.password)",
                "docker://\(target)",
            ])
            let digest = "sha256:" + (try Harness.run(["sha256sum"], stdin: raw.data).stdout.prefix(64))
            #expect(raw.status == 0 && digest == image["digest"], "\(target): \(raw.stderr)")
        }
        let requests = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
            .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let twoScopes = requests.filter { (($0["scopes"] as? [String]) ?? []).count == 2 }
        #expect(!twoScopes.isEmpty, "a mount asks for the target's push and the source's pull scope")
        let mounted = (report["blobs"] as? [String: Any])?["mounted"] as? Int ?? -1
        #expect(firstScopeOnly ? mounted == 0 : mounted > 0, "mounted \(mounted)")
        let scopes = requests.compactMap { ($0["scopes"] as? [String])?.first }
        #expect(scopes.count > Set(scopes).count, "expired tokens were fetched again: \(scopes)")
    }
}
