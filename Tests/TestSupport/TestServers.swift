import Foundation
import Testing

/// A throw-away certificate authority for loopback TLS servers (openssl).
package struct TestCA {
    package let root: String
    package var certificate: String { "\(root)/ca.pem" }

    package init(root: String, name: String = "airlock test CA") throws {
        self.root = root
        let made = try Harness.run([
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "\(root)/ca.key", "-out", "\(root)/ca.pem", "-days", "2", "-subj", "/CN=\(name)",
        ])
        try #require(made.status == 0, "test CA: \(made.stderr)")
    }

    /// Issues a server certificate for 127.0.0.1 and localhost; returns (certificate, key) paths.
    package func issue(_ name: String) throws -> (certificate: String, key: String) {
        let script = """
            set -e; cd "$0"
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$1" 2>/dev/null
            printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\nbasicConstraints=CA:FALSE\\n' > "$1.cnf"
            openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -out "$1.pem" -days 2 -extfile "$1.cnf" 2>/dev/null
            """
        let result = try Harness.run(["sh", "-c", script, root, name])
        try #require(result.status == 0, "certificate \(name): \(result.stderr)")
        return ("\(root)/\(name).pem", "\(root)/\(name).key")
    }
}

/// A Python server on a free loopback port, SIGKILLed on `stop()` (Python's servers wait for
/// open connections on SIGTERM). The script gets the port as its first argument.
package final class PythonServer: @unchecked Sendable {
    // @unchecked: the process handle is only touched from the test that owns this server.
    package let port: Int
    private let process = Process()

    /// Runs `Tests/Fixtures/<fixture>` (which may import its neighbours, such as loopback.py).
    package convenience init(
        fixture: String,
        arguments: [String] = [],
        interpreter: String = "python3",
        environment: [String: String] = [:]
    ) throws {
        try self.init(
            program: ["\(Harness.packageRoot)/Tests/Fixtures/\(fixture)"],
            arguments: arguments,
            interpreter: interpreter,
            environment: environment
        )
    }

    /// Runs `script` given inline.
    package convenience init(script: String, arguments: [String] = []) throws {
        try self.init(program: ["-c", script], arguments: arguments, interpreter: "python3")
    }

    private init(program: [String], arguments: [String], interpreter: String, environment: [String: String] = [:]) throws {
        port = try freePort()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        process.arguments = [interpreter] + program + ["\(port)"] + arguments
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        for _ in 0..<400 {
            if canConnect(port: port) { return }
            usleep(25_000)
        }
        stop()
        Issue.record("python server on port \(port) did not start")
    }

    /// The read-only stand-in registry (Tests/Fixtures/referrers-registry.py) serving the
    /// example's `app-1.4.2` image as `src/app`, with `airlock.yaml` in `root` pulling it; `image`
    /// adds lines under the image entry, `misbehave` the fixture's flags (`--cut-blobs`,
    /// `--pad-blobs`). Returns the server and its `host:port`.
    package static func exampleRegistry(
        example: String,
        root: String,
        bundleName: String,
        image: String,
        misbehave: [String] = []
    ) throws -> (PythonServer, String) {
        let server = try PythonServer(
            fixture: "referrers-registry.py",
            arguments: ["\(example)/build/oci", "src/app", "app-1.4.2"] + misbehave
        )
        let host = "127.0.0.1:\(server.port)"
        try """
        apiVersion: airlock/v1
        kind: Bundle
        metadata: {name: \(bundleName), version: "1", created: "2026-11-01T00:00:00Z"}
        images:
          - ref: \(host)/src/app:app-1.4.2
            \(image)
        """.write(toFile: "\(root)/airlock.yaml", atomically: true, encoding: .utf8)
        return (server, host)
    }

    /// A static HTTPS site serving `folder` with the given certificate.
    package static func staticSite(_ folder: String, certificate: (certificate: String, key: String)) throws -> PythonServer {
        try PythonServer(
            script: """
                import http.server, ssl, sys, functools
                port, root, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
                handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=root)
                httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                context.load_cert_chain(cert, key)
                httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
                httpd.serve_forever()
                """,
            arguments: [folder, certificate.certificate, certificate.key]
        )
    }

    package func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
