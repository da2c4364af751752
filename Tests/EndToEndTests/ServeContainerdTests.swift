import Foundation
import TestSupport
import Testing

/// containerd — the runtime of K3s and of most Kubernetes nodes — pulling from `airlock serve`
/// through the `hosts.toml` that serve writes (`ctr images pull --hosts-dir`), and unpacking what
/// it pulled with its native snapshotter. A containerd of the test's own (its own root, state and
/// socket) runs as root; a pull that missed the mirror would go to the upstream through a proxy
/// on a closed loopback port, so the test never leaves the machine.
@Suite(
    .removesTemporaryFolders,
    .needs(.containerd, .ctr, .zstd, .python3, .openssl),
    .enabled(if: geteuid() == 0, "containerd runs as root")
)
struct ServeContainerdTests {
    @Test func containerdPullsAndUnpacksEveryImageThroughTheHostsFileServeWrites() throws {
        let packed = try PackedExample.make()
        let serve = try ServeProcess(
            [packed.bundle, "--key", "signer.pub", "--prefix", "mirror", "--config-dir", "nodes", "--output", "json"],
            in: packed.example
        )
        defer { _ = serve.stop() }
        let served = try #require(try serve.listening()["images"] as? [[String: String]]).filter { $0["kind"] == "image" }
        try #require(served.count == 3, "\(served)")
        let containerd = try Containerd()
        defer { containerd.stop() }
        let hostsDir = "\(packed.example)/nodes/containerd/certs.d"

        for image in served {
            let source = try #require(image["source"])
            let pull = try containerd.ctr(["images", "pull", "--hosts-dir", hostsDir, "--snapshotter", "native", source])
            #expect(pull.status == 0, "\(source): \(pull.stderr.suffix(2000))")
        }
        // Every image is there whole, under its source name, with the digest the bundle carries.
        let listed = try containerd.ctr(["images", "check", "--snapshotter", "native"])
        for image in served {
            let source = try #require(image["source"])
            let line = listed.stdout.split(separator: "\n").first { $0.hasPrefix(source + " ") }.map(String.init) ?? ""
            #expect(line.contains(image["digest"] ?? "-"), "\(source): \(listed.stdout)")
            let counts = line.firstMatch(of: /complete \((\d+)\/(\d+)\)/)
            #expect(counts != nil && counts?.1 == counts?.2, "\(source) is not complete: \(line)")
            #expect(line.hasSuffix("true"), "\(source) is not unpacked: \(line)")
        }
        // And unpacked: the app's file tree is in a snapshot the native snapshotter made.
        // The requests came to the prefixed paths (hosts.toml's override_path), none elsewhere.
        #expect(serve.stop() == 0)
        #expect(serve.stderr.contains(#""path":"/v2/mirror/team/app/manifests/1.4.2","status":200"#), "\(serve.stderr.suffix(2000))")
        #expect(!serve.stderr.contains(#""status":404"#), "a request missed: \(serve.stderr.suffix(2000))")
    }

    @Test func containerdNeverReceivesATamperedLayerWhole() throws {
        let packed = try PackedExample.make(layerMB: 2)
        let serve = try ServeProcess(
            [packed.bundle, "--key", "signer.pub", "--config-dir", "nodes", "--output", "json"],
            in: packed.example
        )
        defer { _ = serve.stop() }
        // Altered in place once serve has checked it: each blob is hashed again on the way out.
        let layer = try packed.flipAByteOfTheLargestStoredLayer()
        let served = try #require(try serve.listening()["images"] as? [[String: String]]).filter { $0["kind"] == "image" }
        let containerd = try Containerd()
        defer { containerd.stop() }
        var failed: [String] = []
        for image in served {
            let source = try #require(image["source"])
            let pull = try containerd.ctr([
                "images", "pull", "--hosts-dir", "\(packed.example)/nodes/containerd/certs.d", "--snapshotter", "native", source,
            ])
            if pull.status != 0 { failed.append(source) }
        }
        #expect(failed.count == 1, "exactly the image holding the tampered layer fails: \(failed)")
        let content = try containerd.ctr(["content", "ls", "-q"])
        #expect(content.status == 0 && !content.stdout.contains(layer), "the tampered layer is not in containerd's store")
        #expect(serve.stop() == 0)
        #expect(serve.stderr.contains("\(layer) does not match its digest"), "the cut-off is logged: \(serve.stderr.suffix(2000))")
    }
}

/// A containerd daemon of the test's own: root, state and sockets in a short temporary folder
/// (a socket path must fit 108 bytes), the CRI plugin off.
final class Containerd: @unchecked Sendable {
    // @unchecked: the process handle is only touched from the test that owns the daemon.
    let folder: String
    private let process = Process()

    init() throws {
        folder = try Harness.temporaryDirectory("ctrd")
        let config = """
            version = 2
            root = "\(folder)/root"
            state = "\(folder)/state"
            disabled_plugins = ["io.containerd.grpc.v1.cri"]
            [grpc]
              address = "\(folder)/c.sock"
            [ttrpc]
              address = "\(folder)/t.sock"

            """
        try config.write(toFile: "\(folder)/config.toml", atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["containerd", "--config", "\(folder)/config.toml"]
        _ = FileManager.default.createFile(atPath: "\(folder)/log", contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: "\(folder)/log")
        process.standardError = FileHandle(forWritingAtPath: "\(folder)/log")
        try process.run()
        for _ in 0..<200 where process.isRunning {
            if try ctr(["version"]).status == 0 { return }
            usleep(50_000)
        }
        let log = (try? String(contentsOfFile: "\(folder)/log", encoding: .utf8)) ?? ""
        Issue.record("containerd did not start: \(log.suffix(2000))")
        throw CancellationError()
    }

    /// `ctr` against this daemon; upstream pulls (a mirror missed) go to a closed loopback port.
    func ctr(_ arguments: [String]) throws -> Harness.Output {
        try Harness.run(
            ["ctr", "--address", "\(folder)/c.sock"] + arguments,
            environment: ["HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9", "NO_PROXY": "127.0.0.1"]
        )
    }

    func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }
}
