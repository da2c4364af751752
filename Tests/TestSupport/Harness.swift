import Foundation
import Testing

/// Helpers for tests that run the built `airlock` binary and stock tools (tar, zstd, openssl,
/// skopeo, sha256sum) on real files. Nothing here reaches beyond this machine.
package enum Harness {
    package static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// The `airlock` binary next to the test bundle (`swift build` puts products together).
    package static let airlock: String = {
        if let explicit = ProcessInfo.processInfo.environment["AIRLOCK_BIN"] { return explicit }
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = folder.appendingPathComponent("airlock").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            folder = folder.deletingLastPathComponent()
        }
        return "\(packageRoot)/.build/debug/airlock"
    }()

    package static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// Whether `tool` is on PATH. In CI a missing tool is a failure, not a skip.
    package static func has(_ tool: String) -> Bool {
        let found = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
            .contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)") }
        return found
    }

    package struct Output {
        package let status: Int32
        package let stdout: String
        package let stderr: String
        package let data: Data
    }

    /// Runs a program and waits for it.
    @discardableResult
    package static func run(
        _ arguments: [String],
        in directory: String? = nil,
        environment: [String: String] = [:],
        stdin: Data? = nil
    ) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { _, new in new }
        process.environment = env
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let input = Pipe()
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try input.fileHandleForWriting.close()
        // Read both pipes concurrently so a chatty child cannot block on a full pipe.
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        let output = Output(
            status: process.terminationStatus,
            stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self),
            data: outData
        )
        if arguments.first == airlock { Transcript.record(arguments, output) }
        return output
    }

    /// Runs `airlock` with a private cache.
    @discardableResult
    package static func airlock(_ arguments: [String], in directory: String, environment: [String: String] = [:]) throws -> Output {
        var env = ["AIRLOCK_CACHE": "\(directory)/.cache"]
        env.merge(environment) { _, new in new }
        return try run([airlock] + arguments, in: directory, environment: env)
    }

    /// A fresh temporary folder, removed by the caller's `defer`.
    package static func temporaryDirectory(_ label: String = "airlock-test") throws -> String {
        let path = NSTemporaryDirectory() + "\(label)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        TemporaryFolders.current?.add(path)
        return path
    }

    /// Generates the example content (scripts/make-example.py) in `directory`/example.
    package static func makeExample(
        in directory: String,
        dockerArchive: Bool = true,
        layerMB: Int = 0,
        attestations: Bool = false,
        install: Bool = false
    ) throws -> String {
        let target = "\(directory)/example"
        var arguments = ["python3", "\(packageRoot)/scripts/make-example.py", target]
        if dockerArchive { arguments.append("--docker-archive") }
        if attestations { arguments.append("--attestations") }
        if install { arguments.append("--install") }
        if layerMB > 0 { arguments += ["--layer-mb", "\(layerMB)"] }
        let result = try run(arguments)
        try #require(result.status == 0, "make-example failed: \(result.stderr)")
        return target
    }

    package static func sha256(ofFile path: String) throws -> String {
        let result = try run(["sha256sum", path])
        return String(result.stdout.prefix(64))
    }
}

/// A packed example: its folder, key and bundle, made once per test.
package struct PackedExample {
    package let root: String
    package let example: String
    package let bundle: String

    package static func make(keyType: String = "ecdsa-p256", signed: Bool = true, layerMB: Int = 0) throws -> PackedExample {
        let root = try Harness.temporaryDirectory()
        let example = try Harness.makeExample(in: root, layerMB: layerMB)
        if signed {
            let key = try Harness.airlock(["key", "generate", "--out", "signer", "--type", keyType], in: example)
            try #require(key.status == 0, "key generate: \(key.stderr)")
        }
        let pack = try Harness.airlock(["pack", "-q"] + (signed ? ["--key", "signer.key"] : []), in: example)
        try #require(pack.status == 0, "pack: \(pack.stderr)")
        return PackedExample(root: root, example: example, bundle: "\(example)/platform-1.4.2.tar.zst")
    }

    package func remove() { try? FileManager.default.removeItem(atPath: root) }

    /// The statement inside the bundle, decoded.
    package func statement() throws -> [String: Any] {
        let extract = try Harness.run(["tar", "--zstd", "-xOf", bundle, "statement.intoto.json"])
        let envelope = try #require(try JSONSerialization.jsonObject(with: extract.data) as? [String: Any])
        let encoded = try #require(envelope["payload"] as? String)
        let payload = try #require(Data(base64Encoded: encoded))
        return try #require(try JSONSerialization.jsonObject(with: payload) as? [String: Any])
    }

    /// Entry path → sha256 from the statement's subjects.
    package func subjects() throws -> [String: String] {
        let subjects = try #require(try statement()["subject"] as? [[String: Any]])
        var out: [String: String] = [:]
        for subject in subjects {
            let name = try #require(subject["name"] as? String)
            out[name] = try #require((subject["digest"] as? [String: String])?["sha256"])
        }
        return out
    }

    /// Flips a byte in the middle of the largest layer stored as raw zstd blocks: the frame and the
    /// seek index stay valid while the layer's bytes do not (frame header 6 bytes, block header 3).
    /// Returns the layer's digest (hex).
    package func flipAByteOfTheLargestStoredLayer() throws -> String {
        var data = try Data(contentsOf: URL(fileURLWithPath: bundle))
        let footer = Array(data.suffix(12))
        let length = Int(footer[0]) | Int(footer[1]) << 8 | Int(footer[2]) << 16 | Int(footer[3]) << 24
        let json = data[(data.count - 8 - length + 8)..<(data.count - 12)]
        let index = try #require(try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any])
        let entries = try #require(index["entries"] as? [[String: Any]])
        let stored = entries.filter { entry in
            (entry["path"] as? String)?.hasPrefix("oci/blobs/") == true
                && (entry["compressedSize"] as? Int ?? 0) > (entry["size"] as? Int ?? 0)
        }
        let layer = try #require(stored.max { ($0["size"] as? Int ?? 0) < ($1["size"] as? Int ?? 0) })
        let dataStart = (layer["offset"] as? Int ?? 0) + 6 + 3 + (layer["headerSize"] as? Int ?? 0)
        data[dataStart + min((layer["size"] as? Int ?? 0) / 2, 100_000)] ^= 0x01
        try data.write(to: URL(fileURLWithPath: bundle))
        return String((layer["path"] as? String ?? "").split(separator: "/").last ?? "")
    }
}

/// Every output of every `airlock` run in the suite, appended to `$AIRLOCK_TEST_TRANSCRIPT` when
/// set: scripts/test then checks that none holds a password or key the tests use
/// (Tests/Fixtures/test-secrets.txt), whatever the test asserted.
package enum Transcript {
    private static let lock = NSLock()

    package static func record(_ arguments: [String], _ output: Harness.Output) {
        guard let path = ProcessInfo.processInfo.environment["AIRLOCK_TEST_TRANSCRIPT"], !path.isEmpty else { return }
        let entry = "$ airlock \(arguments.dropFirst().joined(separator: " "))\n\(output.stdout)\n\(output.stderr)\n"
        lock.withLock {
            if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
            if let handle = FileHandle(forWritingAtPath: path) {
                handle.seekToEndOfFile()
                handle.write(Data(entry.utf8))
                try? handle.close()
            }
        }
    }
}
