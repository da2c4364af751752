import Foundation
import TestSupport
import Testing

/// `airlock serve` in the background on a free loopback port, its output in files; `stop()` sends
/// SIGTERM and returns the exit status.
final class ServeProcess: @unchecked Sendable {
    // @unchecked: the process handle is only touched from the test that owns this server.
    let port: Int
    private let output: String
    private let process = Process()

    init(_ arguments: [String], in directory: String) throws {
        port = try freePort()
        output = "\(directory)/serve-\(port)"
        _ = FileManager.default.createFile(atPath: "\(output).out", contents: nil)
        _ = FileManager.default.createFile(atPath: "\(output).err", contents: nil)
        process.executableURL = URL(fileURLWithPath: Harness.airlock)
        process.arguments = ["serve"] + arguments + ["--listen", "127.0.0.1:\(port)"]
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardOutput = FileHandle(forWritingAtPath: "\(output).out")
        process.standardError = FileHandle(forWritingAtPath: "\(output).err")
        try process.run()
        for _ in 0..<400 where process.isRunning && !(canConnect(port: port) && stdout.hasSuffix("\n")) {
            usleep(25_000)
        }
        try #require(process.isRunning && canConnect(port: port), "airlock serve did not start: \(stderr)")
    }

    var stdout: String { (try? String(contentsOfFile: "\(output).out", encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: "\(output).err", encoding: .utf8)) ?? "" }

    /// What it printed on start with `--output json`.
    func listening() throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any])
    }

    func stop() -> Int32 {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { process.terminate() }
    }
}

/// A GET of one blob over a raw HTTP/1.1 connection, read slowly (64 KiB every 10 ms) by a python
/// client running beside the test, so that the transfer is still in flight while the test acts.
final class SlowBlobPull: @unchecked Sendable {
    // @unchecked: the process handle is only touched from the test that owns the pull.
    struct Result: Decodable {
        /// `sha256:` of the body received.
        let digest: String
        let bytes: Int
        /// With `probeAfter`: whether a new connection was refused that long into the transfer.
        let refused: Bool?
    }

    /// Set once the answer's first bytes arrived.
    let startedFile: String
    private let client = Process()
    private let output = Pipe()

    init(port: Int, repository: String, digest: String, probeAfter seconds: Double? = nil, in folder: String) throws {
        startedFile = "\(folder)/pull-started-\(UUID().uuidString.prefix(8))"
        client.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        client.arguments = [
            "python3", "-c",
            """
            import hashlib, json, socket, sys, time
            port, path, started_file, probe = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])
            pull = socket.create_connection(("127.0.0.1", port))
            pull.sendall(("GET %s HTTP/1.1\\r\\nHost: serve\\r\\nConnection: close\\r\\n\\r\\n" % path).encode())
            data = pull.recv(65536)
            open(started_file, "w").write("started")
            refused = None
            started = time.time()
            while True:
                chunk = pull.recv(65536)
                if not chunk:
                    break
                data += chunk
                time.sleep(0.01)
                if probe >= 0 and refused is None and time.time() - started > probe:
                    try:
                        socket.create_connection(("127.0.0.1", port), timeout=2).close()
                        refused = False
                    except OSError:
                        refused = True
            body = data.split(b"\\r\\n\\r\\n", 1)[1]
            print(json.dumps({"digest": "sha256:" + hashlib.sha256(body).hexdigest(), "bytes": len(body), "refused": refused}))
            """, "\(port)", "/v2/\(repository)/blobs/\(digest)", startedFile, "\(seconds ?? -1)",
        ]
        client.standardOutput = output
        try client.run()
    }

    /// Waits until the first bytes of the answer arrived.
    func waitUntilStarted() {
        for _ in 0..<400 where !FileManager.default.fileExists(atPath: startedFile) { usleep(25_000) }
    }

    /// Waits for the transfer to end.
    func result() throws -> Result {
        client.waitUntilExit()
        return try JSONDecoder().decode(Result.self, from: output.fileHandleForReading.readDataToEndOfFile())
    }
}

/// The digest of the largest layer of `reference` as the server at `port` serves it.
func largestLayer(of reference: String, port: Int) throws -> String {
    let manifest = try Harness.run(["skopeo", "inspect", "--raw", "--tls-verify=false", "docker://127.0.0.1:\(port)/\(reference)"])
    try #require(manifest.status == 0, "\(reference): \(manifest.stderr)")
    let layers = try #require((try JSONSerialization.jsonObject(with: manifest.data) as? [String: Any])?["layers"] as? [[String: Any]])
    return try #require(layers.max { ($0["size"] as? Int ?? 0) < ($1["size"] as? Int ?? 0) }?["digest"] as? String)
}
