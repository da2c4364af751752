import Foundation
import Testing

/// A real registry for the tests: Debian's `docker-registry` (CNCF distribution 2.8) on 127.0.0.1
/// with a free port, plain or with TLS (a test CA) and htpasswd basic auth. Killed on `stop()`.
package final class TestRegistry: @unchecked Sendable {
    // @unchecked: the process handle is only touched from the test that owns this registry.
    package let root: String
    package let port: Int
    package let tls: Bool
    private var process: Process?

    package var host: String { "127.0.0.1:\(port)" }
    package var caFile: String { "\(root)/ca.pem" }
    package static let username = "operator"
    package static let password = "correct-horse-battery"

    /// docker-registry's `auth: token` settings: the registry validates tokens signed by the key
    /// whose certificate is `rootCertBundle`.
    package struct TokenAuth {
        package var realm: String
        package var service: String
        package var issuer: String
        package var rootCertBundle: String

        package init(realm: String, service: String, issuer: String, rootCertBundle: String) {
            self.realm = realm
            self.service = service
            self.issuer = issuer
            self.rootCertBundle = rootCertBundle
        }
    }

    /// `deleteEnabled: false` runs the registry as shipped (its storage refuses DELETE), as many
    /// sites run it; the tests' default allows deletes.
    package init(tls: Bool, token: TokenAuth? = nil, deleteEnabled: Bool = true) throws {
        precondition(token == nil || !tls, "token auth is set up on a plain registry (the issuer has TLS)")
        root = try Harness.temporaryDirectory("registry")
        port = try freePort()
        self.tls = tls
        var config = """
            version: 0.1
            log:
              level: error
              accesslog:
                disabled: true
            storage:
              filesystem:
                rootdirectory: \(root)/data
              delete:
                enabled: \(deleteEnabled)
            http:
              addr: 127.0.0.1:\(port)
            """
        if tls {
            try makeCertificates()
            let htpasswd = try Harness.run(["htpasswd", "-Bbn", Self.username, Self.password])
            try #require(htpasswd.status == 0, "htpasswd: \(htpasswd.stderr)")
            try htpasswd.stdout.write(toFile: "\(root)/htpasswd", atomically: true, encoding: .utf8)
            config += """

                  tls:
                    certificate: \(root)/server.pem
                    key: \(root)/server.key
                auth:
                  htpasswd:
                    realm: airlock-test
                    path: \(root)/htpasswd
                """
        }
        if let token {
            config += """

                auth:
                  token:
                    realm: \(token.realm)
                    service: \(token.service)
                    issuer: \(token.issuer)
                    rootcertbundle: \(token.rootCertBundle)
                """
        }
        try config.write(toFile: "\(root)/config.yml", atomically: true, encoding: .utf8)
        try start()
    }

    package func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["docker-registry", "serve", "\(root)/config.yml"]
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: touch("\(root)/registry.log")))
        try process.run()
        self.process = process
        for _ in 0..<200 {
            if canConnect(port: port) { return }
            usleep(25_000)
        }
        Issue.record(
            """
            docker-registry did not start on \(host): \
            \(String(describing: try? String(contentsOfFile: "\(root)/registry.log", encoding: .utf8)))
            """
        )
    }

    /// SIGKILL, as in a crash or a pulled plug.
    package func kill() {
        guard let process else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    /// Kills the registry as soon as a first blob is committed while `push` runs (at most six
    /// seconds on), then waits for the push to end: an import cut short.
    package func kill(afterFirstBlobOf push: Process) {
        var waited = 0
        while linkedBlobs().isEmpty && push.isRunning && waited < 3000 {
            usleep(2_000)
            waited += 1
        }
        kill()
        push.waitUntilExit()
    }

    package func stop() {
        kill()
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Blobs the registry has stored, by digest hex.
    package func storedBlobs() -> Set<String> {
        let base = "\(root)/data/docker/registry/v2/blobs/sha256"
        var found: Set<String> = []
        for prefix in (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [] {
            for digest in (try? FileManager.default.contentsOfDirectory(atPath: "\(base)/\(prefix)")) ?? []
            where FileManager.default.fileExists(atPath: "\(base)/\(prefix)/\(digest)/data") {
                found.insert(digest)
            }
        }
        return found
    }

    /// Blobs the registry has committed to some repository (the API answers HEAD for these), by
    /// digest hex. A blob whose data landed but whose link did not was never acknowledged.
    package func linkedBlobs() -> Set<String> {
        let base = "\(root)/data/docker/registry/v2/repositories"
        var found: Set<String> = []
        guard let walker = FileManager.default.enumerator(atPath: base) else { return found }
        while let path = walker.nextObject() as? String {
            let parts = path.split(separator: "/")
            // Only links that name their blob: a crash can leave an empty one behind.
            if parts.count >= 4, parts.last == "link", parts[parts.count - 4] == "_layers",
                (try? String(contentsOfFile: "\(base)/\(path)", encoding: .utf8)) == "sha256:\(parts[parts.count - 2])"
            {
                found.insert(String(parts[parts.count - 2]))
            }
        }
        return found
    }

    /// Tags of a repository, through the API (empty when the repository has none).
    package func tags(_ repository: String) throws -> [String] {
        var arguments = [
            "python3", "-c",
            """
            import base64, json, ssl, sys, urllib.request, urllib.error
            url, ca, user, password = sys.argv[1:5]
            request = urllib.request.Request(url)
            if user:
                request.add_header("Authorization", "Basic " + base64.b64encode((user + ":" + password).encode()).decode())
            context = ssl.create_default_context(cafile=ca) if ca else None
            try:
                print(json.dumps(json.load(urllib.request.urlopen(request, context=context)).get("tags") or []))
            except urllib.error.HTTPError as error:
                print("[]" if error.code == 404 else sys.exit("HTTP %d" % error.code))
            """,
        ]
        arguments += [
            "\(tls ? "https" : "http")://\(host)/v2/\(repository)/tags/list", tls ? caFile : "",
            tls ? Self.username : "", tls ? Self.password : "",
        ]
        let result = try Harness.run(arguments)
        try #require(result.status == 0, "tags: \(result.stderr)")
        return try JSONDecoder().decode([String].self, from: result.data)
    }

    /// skopeo flags to reach this registry.
    package var skopeoFlags: [String] {
        tls ? ["--creds", "\(Self.username):\(Self.password)", "--cert-dir", "\(root)/certs.d"] : ["--tls-verify=false"]
    }

    /// `ca.pem`, `server.pem`/`server.key` for 127.0.0.1, and the CA in skopeo's cert dir.
    private func makeCertificates() throws {
        let ca = try TestCA(root: root)
        _ = try ca.issue("server")
        try FileManager.default.createDirectory(atPath: "\(root)/certs.d", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: ca.certificate, toPath: "\(root)/certs.d/ca.crt")
    }

    private func touch(_ path: String) -> String {
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        return path
    }
}

/// A free TCP port on 127.0.0.1 (bound, read, released).
package func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
    try #require(bound == 0)
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    return Int(UInt16(bigEndian: address.sin_port))
}

package func canConnect(port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
}
