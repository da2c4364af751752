import Foundation
import TestSupport
import Testing

/// How serve starts, idles and stops: bad starts in one line, idle connections closed, a stop
/// while accepting.
extension ServeJourneyTests {
    @Test func badStartsFailInOneLineAndListenOnNothing() throws {
        let packed = try PackedExample.make()
        let dir = packed.example
        #expect(try Harness.airlock(["key", "generate", "--out", "stranger"], in: dir).status == 0)
        let port = try freePort()
        let cases: [(arguments: [String], status: Int32, message: String)] = [
            ([packed.bundle, "--key", "stranger.pub"], 1, "signed only by unknown key(s)"),
            ([packed.bundle, "--key", "signer.pub", "--tls-cert", "signer.pub"], 2, "give --tls-cert and --tls-key together"),
            (
                [packed.bundle, "--key", "signer.pub", "--tls-cert", "signer.pub", "--tls-key", "signer.key"], 2,
                "cannot serve TLS with certificate signer.pub"
            ),
            (["nothing-here.tar.zst", "--key", "signer.pub"], 2, "nothing-here.tar.zst does not exist"),
            ([packed.bundle, "--key", "signer.pub", "--idle-timeout", "0"], 2, "--idle-timeout takes a number of seconds above 0"),
        ]
        for (arguments, status, message) in cases {
            let result = try Harness.airlock(["serve"] + arguments + ["--listen", "127.0.0.1:\(port)"], in: dir)
            #expect(result.status == status, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains(message) && result.stderr.split(separator: "\n").count == 1, "\(arguments): \(result.stderr)")
            #expect(!canConnect(port: port))
        }
        let listen = try Harness.airlock(["serve", packed.bundle, "--key", "signer.pub", "--listen", "5000"], in: dir)
        #expect(listen.status == 2 && listen.stderr.contains("--listen takes HOST:PORT"), "\(listen.stderr)")
        let everywhere = try Harness.airlock(
            ["serve", packed.bundle, "--key", "signer.pub", "--listen", "0.0.0.0:\(port)", "--config-dir", "cfg"],
            in: dir
        )
        #expect(everywhere.status == 2 && everywhere.stderr.contains("--config-dir needs --advertise HOST:PORT"), "\(everywhere.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/cfg"))

        let first = try ServeProcess([packed.bundle, "--key", "signer.pub"], in: dir)
        let second = try Harness.airlock(["serve", packed.bundle, "--key", "signer.pub", "--listen", "127.0.0.1:\(first.port)"], in: dir)
        #expect(second.status == 3 && second.stderr.contains("cannot listen on 127.0.0.1:\(first.port)"), "\(second.stderr)")
        #expect(first.stop() == 0, "\(first.stderr.suffix(3000))")
    }

    /// A client that connects and says nothing, and one that goes quiet after an answer, are
    /// disconnected after --idle-timeout; the server goes on answering others.
    @Test func quietConnectionsAreClosedAfterTheIdleTimeout() throws {
        let packed = try PackedExample.make()
        let serve = try ServeProcess([packed.bundle, "--key", "signer.pub", "--idle-timeout", "1"], in: packed.example)
        let result = try Harness.run([
            "python3", "-c",
            """
            import json, socket, sys
            port = int(sys.argv[1])
            def connect():
                connection = socket.create_connection(("127.0.0.1", port))
                connection.settimeout(60)  # far beyond the idle timeout: a hang fails here
                return connection
            silent = connect()
            talker = connect()
            talker.sendall(b"GET /v2/ HTTP/1.1\\r\\nHost: registry\\r\\n\\r\\n")
            answer = b""
            while not answer.endswith(b"{}"):
                answer += talker.recv(4096)
            out = {"silent": silent.recv(1) == b"", "answered": answer.startswith(b"HTTP/1.1 200"), "then": talker.recv(1) == b""}
            late = connect()
            late.sendall(b"GET /v2/ HTTP/1.1\\r\\nHost: registry\\r\\nConnection: close\\r\\n\\r\\n")
            out["later"] = late.recv(12) == b"HTTP/1.1 200"
            print(json.dumps(out))
            """, "\(serve.port)",
        ])
        #expect(serve.stop() == 0, "\(serve.stderr.suffix(2000))")
        try #require(result.status == 0, "\(result.stderr)")
        let out = try #require(try JSONSerialization.jsonObject(with: result.data) as? [String: Bool])
        #expect(out == ["silent": true, "answered": true, "then": true, "later": true], "\(out)")
    }

    @Test func stoppedWhileAcceptingItStillExitsCleanly() throws {
        // NIO traps on a connection accepted but dropped unclosed; stopping the server while
        // clients connect used to crash it now and then (SIGILL). Connect, stop at once, repeat.
        let packed = try PackedExample.make()
        for round in 0..<20 {
            let port = try freePort()
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Harness.airlock)
            process.arguments = ["serve", packed.bundle, "--key", "signer.pub", "--listen", "127.0.0.1:\(port)", "-q"]
            process.currentDirectoryURL = URL(fileURLWithPath: packed.example)
            process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
            let errors = Pipe()
            process.standardError = errors
            try process.run()
            for _ in 0..<400 where !canConnect(port: port) { usleep(10_000) }
            for _ in 0..<3 { _ = canConnect(port: port) }
            process.terminate()
            process.waitUntilExit()
            let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(process.terminationReason == .exit && process.terminationStatus == 0, "round \(round): \(stderr.prefix(600))")
            if process.terminationStatus != 0 { break }
        }
    }
}
