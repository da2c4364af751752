import Foundation
import TestSupport
import Testing

/// `airlock serve` with several deliveries: two bundles carrying the same tag (the newer by version
/// order wins, 1.4.10 over 1.4.2, whatever the order given), and a watched folder taking a new
/// bundle while a pull runs, and refusing a tampered one while the rest keep being served.
@Suite(.removesTemporaryFolders, .needs(.skopeo, .python3))
struct ServeLibraryTests {
    /// The example packed as platform 1.4.2, and as platform 1.4.10 whose
    /// `registry.example.com/team/app:1.4.2` is another image (the example's multi-platform index).
    private func twoDeliveries(layerMB: Int = 0) throws -> (PackedExample, newer: String) {
        let packed = try PackedExample.make(layerMB: layerMB)
        try """
        apiVersion: airlock/v1
        kind: Bundle
        metadata: {name: platform, version: 1.4.10, created: "2026-11-02T00:00:00Z"}
        images:
          - {layout: ./build/oci, select: multi-1.4.2, name: "registry.example.com/team/app:1.4.2"}
        """.write(toFile: "\(packed.example)/newer.yaml", atomically: true, encoding: .utf8)
        let pack = try Harness.airlock(["pack", "-f", "newer.yaml", "--key", "signer.key", "-q"], in: packed.example)
        try #require(pack.status == 0, "pack: \(pack.stderr)")
        return (packed, "\(packed.example)/platform-1.4.10.tar.zst")
    }

    private func digest(_ reference: String, port: Int) throws -> String {
        let raw = try Harness.run(["skopeo", "inspect", "--raw", "--tls-verify=false", "docker://127.0.0.1:\(port)/\(reference)"])
        try #require(raw.status == 0, "\(reference): \(raw.stderr)")
        return "sha256:" + String(try Harness.run(["sha256sum"], stdin: raw.data).stdout.prefix(64))
    }

    private func layoutDigest(_ example: String, tag: String) throws -> String {
        let index = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(example)/build/oci/index.json")))
        let manifests = (index as? [String: Any])?["manifests"] as? [[String: Any]] ?? []
        let entry = manifests.first { ($0["annotations"] as? [String: String])?["org.opencontainers.image.ref.name"] == tag }
        return try #require(entry?["digest"] as? String)
    }

    @Test func aTagInTwoBundlesIsServedFromTheNewer() throws {
        let (packed, newer) = try twoDeliveries()
        // The newer given first: the order given does not matter, the versions do.
        let serve = try ServeProcess([newer, packed.bundle, "--key", "signer.pub"], in: packed.example)
        let multi = try layoutDigest(packed.example, tag: "multi-1.4.2")
        let app = try layoutDigest(packed.example, tag: "app-1.4.2")
        #expect(try digest("team/app:1.4.2", port: serve.port) == multi, "the tag resolves to platform 1.4.10's image")
        #expect(try digest("team/multi:1.4.2", port: serve.port) == multi, "what only the older bundle has is served too")
        #expect(try digest("team/app@\(app)", port: serve.port) == app, "the older image stays reachable by digest")
        #expect(serve.stop() == 0)
        #expect(
            serve.stderr.contains(
                "team/app:1.4.2 is served from platform 1.4.10 (platform-1.4.10.tar.zst), "
                    + "newer than platform 1.4.2 (platform-1.4.2.tar.zst)"
            ),
            "\(serve.stderr.prefix(2000))"
        )
    }

    @Test func aWatchedFolderTakesANewBundleDuringAPullAndRefusesATamperedOne() throws {
        let (packed, newer) = try twoDeliveries(layerMB: 16)
        let drop = "\(packed.root)/drop"
        try FileManager.default.createDirectory(atPath: drop, withIntermediateDirectories: true)
        #expect(try Harness.run(["cp", packed.bundle, "\(drop)/"]).status == 0)
        let serve = try ServeProcess(["--watch", drop, "--key", "signer.pub"], in: packed.example)
        let app = try layoutDigest(packed.example, tag: "app-1.4.2")
        #expect(try digest("team/app:1.4.2", port: serve.port) == app)

        // A slow pull of the app's largest layer, running while the new bundle arrives.
        let largest = try largestLayer(of: "team/app:1.4.2", port: serve.port)
        let pull = try SlowBlobPull(port: serve.port, repository: "team/app", digest: largest, in: packed.root)

        // Dropped in as a copy under another name, then renamed: whole when it appears. A
        // tampered copy (a byte of its signed statement flipped) beside it.
        #expect(try Harness.run(["cp", newer, "\(drop)/.incoming"]).status == 0)
        try FileManager.default.moveItem(atPath: "\(drop)/.incoming", toPath: "\(drop)/platform-1.4.10.tar.zst")
        var tampered = try Data(contentsOf: URL(fileURLWithPath: newer))
        tampered[200] ^= 0x01
        try tampered.write(to: URL(fileURLWithPath: "\(drop)/tampered-1.4.11.tar.zst"))
        for _ in 0..<200 where !(serve.stderr.contains("serving platform 1.4.10") && serve.stderr.contains("refused tampered")) {
            usleep(50_000)
        }
        let multi = try layoutDigest(packed.example, tag: "multi-1.4.2")
        #expect(try digest("team/app:1.4.2", port: serve.port) == multi, "the new bundle is served without a restart")
        #expect(try digest("team/multi:1.4.2", port: serve.port) == multi, "the first bundle still is")
        #expect(try pull.result().digest == largest, "the pull in flight finished whole")
        #expect(serve.stop() == 0)
        #expect(serve.stderr.contains("serving platform 1.4.10 (platform-1.4.10.tar.zst)"), "\(serve.stderr.prefix(3000))")
        #expect(serve.stderr.contains("team/app:1.4.2 is served from platform 1.4.10"))
        let refusal = serve.stderr.split(separator: "\n").filter { $0.hasPrefix("refused tampered-1.4.11.tar.zst: ") }
        #expect(refusal.count == 1, "refused once, not on every look: \(serve.stderr.prefix(3000))")
    }
}
