import Foundation
import TestSupport
import Testing

/// Transfers that go wrong: damaged and over-long blobs, killed registries, broken downloads
/// resumed, blobs redirected to storage.
extension PullJourneyTests {
    @Test func damagedBlobsAbortAndAKilledRegistryIsRetried() throws {
        let registry = try TestRegistry(tls: false)
        defer { registry.stop() }
        let root = try Harness.temporaryDirectory()
        let example = try Harness.makeExample(in: root, dockerArchive: false, layerMB: 48)
        try seed(registry, example: example)
        try spec(registry.host).write(toFile: "\(root)/airlock.yaml", atomically: true, encoding: .utf8)

        // Kill the registry while the large layers download; bring it back at once.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Harness.airlock)
        process.arguments = ["pack", "-q", "--plain-http", registry.host, "--jobs", "1", "--output", "json"]
        process.currentDirectoryURL = URL(fileURLWithPath: root)
        process.environment = ProcessInfo.processInfo.environment.merging(["AIRLOCK_CACHE": "\(root)/.cache"]) { _, new in new }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        var waited = 0
        while process.isRunning && waited < 5000 {
            let partial = (try? FileManager.default.contentsOfDirectory(atPath: "\(root)/.cache/tmp")) ?? []
            if partial.contains(where: {
                ((try? FileManager.default.attributesOfItem(atPath: "\(root)/.cache/tmp/\($0)")[.size] as? Int) ?? 0) > 1 << 20
            }) {
                break
            }
            usleep(1_000)
            waited += 1
        }
        registry.kill()
        try registry.start()
        process.waitUntilExit()
        _ = output.fileHandleForReading.readDataToEndOfFile()
        #expect(process.terminationStatus == 0, "the pack retried through the restart")
        let verify = try Harness.airlock(["verify", "pulled-1.tar.zst", "--allow-unsigned"], in: root)
        #expect(verify.status == 0, "\(verify.stderr)")
        try FileManager.default.removeItem(atPath: "\(root)/pulled-1.tar.zst")

        // A registry serving bytes that do not match their digest: the pack stops, naming both.
        let stored = registry.storedBlobs().sorted()
        let sizes = stored.map { digest in
            (
                (try? FileManager.default.attributesOfItem(
                    atPath: "\(registry.root)/data/docker/registry/v2/blobs/sha256/\(digest.prefix(2))/\(digest)/data"
                )[.size] as? Int) ?? 0, digest
            )
        }
        let victim = try #require(sizes.max { $0.0 < $1.0 }?.1)
        let path = "\(registry.root)/data/docker/registry/v2/blobs/sha256/\(victim.prefix(2))/\(victim)/data"
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        data[data.count / 3] ^= 0x20
        try data.write(to: URL(fileURLWithPath: path))
        let damaged = try Harness.airlock(
            ["pack", "-q", "--plain-http", registry.host],
            in: root,
            environment: ["AIRLOCK_CACHE": "\(root)/fresh-cache"]
        )
        #expect(damaged.status == 1, "\(damaged.stderr)")
        #expect(damaged.stderr.contains("blob sha256:\(victim)") && damaged.stderr.contains("src/app"), "\(damaged.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(root)/pulled-1.tar.zst"))
    }

    /// Pulled blobs stream into the bundle as they arrive, kept in the cache by default and not
    /// with --no-cache. The registry is a stand-in (Tests/Fixtures/referrers-registry.py
    /// --cut-blobs): docker-registry always honours Range, and this one breaks off every big blob
    /// halfway, then ignores Range and sends it whole, so each resumed download must skip the part
    /// the bundle writer may already have taken.
    @Test func pulledBlobsStreamIntoTheBundleAndBrokenTransfersResumeWithOrWithoutTheCache() throws {
        let root = try Harness.temporaryDirectory()
        let example = try Harness.makeExample(in: root, dockerArchive: false, layerMB: 8)
        let (stub, host) = try PythonServer.exampleRegistry(
            example: example,
            root: root,
            bundleName: "streamed",
            image: "name: registry.example.com/team/app:1.4.2",
            misbehave: ["--cut-blobs"]
        )
        defer { stub.stop() }
        var listings: [String] = []
        for mode in ["cache", "no-cache"] {
            let cache = "\(root)/cache-\(mode)"
            let pack = try Harness.airlock(
                ["pack", "-q", "--plain-http", host, "-o", "\(mode).tar.zst"] + (mode == "no-cache" ? ["--no-cache"] : []),
                in: root,
                environment: ["AIRLOCK_CACHE": cache]
            )
            try #require(pack.status == 0, "\(mode): \(pack.stderr)")
            let verify = try Harness.airlock(["verify", "\(mode).tar.zst", "--allow-unsigned"], in: root)
            #expect(verify.status == 0, "\(mode): \(verify.stderr)")
            let listing = try Harness.run(["sh", "-c", "zstd -dc \(mode).tar.zst | tar -tv"], in: root)
            try #require(listing.status == 0, "\(listing.stderr)")
            listings.append(listing.stdout)

            // What the cache holds afterwards: the big layers only when it was asked to keep them.
            let blobs = (try? FileManager.default.contentsOfDirectory(atPath: "\(cache)/blobs/sha256")) ?? []
            let big = blobs.filter {
                ((try? FileManager.default.attributesOfItem(atPath: "\(cache)/blobs/sha256/\($0)")[.size] as? Int) ?? 0) > 1 << 20
            }
            #expect(big.count == (mode == "cache" ? 2 : 0), "\(mode): \(big.count) big blobs in the cache")
            #expect(
                ((try? FileManager.default.contentsOfDirectory(atPath: "\(cache)/tmp")) ?? []).isEmpty,
                "\(mode): leftovers in the cache's tmp"
            )
        }
        // Unsigned bundles of the same inputs: the same, byte for byte, whichever way the blobs came.
        #expect(listings[0] == listings[1])
        #expect(try Harness.run(["cmp", "cache.tar.zst", "no-cache.tar.zst"], in: root).status == 0, "the two bundles differ")
    }

    /// A registry that sends more bytes than a blob's descriptor declares: the pack stops at once
    /// with that cause (the blob is not fetched again as if the connection had broken), and
    /// leaves no bundle. Stand-in: Tests/Fixtures/referrers-registry.py --pad-blobs.
    @Test func aBlobLongerThanItsDescriptorStopsThePackWithoutRetrying() throws {
        let root = try Harness.temporaryDirectory()
        let example = try Harness.makeExample(in: root, dockerArchive: false, layerMB: 4)
        let (stub, host) = try PythonServer.exampleRegistry(
            example: example,
            root: root,
            bundleName: "padded",
            image: "name: team/app:1",
            misbehave: ["--pad-blobs"]
        )
        defer { stub.stop() }
        for extra in [[], ["--no-cache"]] {
            let pack = try Harness.airlock(
                ["pack", "-q", "--plain-http", host] + extra,
                in: root,
                environment: ["AIRLOCK_CACHE": "\(root)/cache"]
            )
            #expect(pack.status == 1, "\(extra): \(pack.stderr)")
            #expect(pack.stderr.contains("sent more than the") && pack.stderr.contains("bytes its descriptor declares"), "\(pack.stderr)")
            #expect(!FileManager.default.fileExists(atPath: "\(root)/padded-1.tar.zst"))
        }
        let gets = try #require(try standInRecord("http://\(host)/counts") as? [String: Int])
        #expect(!gets.isEmpty && gets.values.allSatisfy { $0 <= 2 }, "each blob is asked for once per pack: \(gets)")
    }

    /// A registry that keeps its blobs in object storage answers blob GETs with a redirect to
    /// another host: the pull follows it (the big layers over connections of their own, the small
    /// blobs over the pooled ones, with and without the cache), and the registry's credentials
    /// never go along. Stand-in: Tests/Fixtures/referrers-registry.py --redirect-blobs (basic
    /// auth on /v2/, storage at http://localhost:PORT).
    @Test func blobsRedirectedToStorageArriveWithoutTheRegistrysCredentials() throws {
        let root = try Harness.temporaryDirectory()
        let example = try Harness.makeExample(in: root, dockerArchive: false, layerMB: 4)
        let (stub, host) = try PythonServer.exampleRegistry(
            example: example,
            root: root,
            bundleName: "redirected",
            image: "name: team/app:1",
            misbehave: ["--redirect-blobs"]
        )
        defer { stub.stop() }
        try FileManager.default.createDirectory(atPath: "\(root)/docker", withIntermediateDirectories: true)
        let auth = Data("puller:pull-secret".utf8).base64EncodedString()
        try "{\"auths\":{\"\(host)\":{\"auth\":\"\(auth)\"}}}".write(
            toFile: "\(root)/docker/config.json",
            atomically: true,
            encoding: .utf8
        )
        for extra in [[], ["--no-cache"]] {
            try? FileManager.default.removeItem(atPath: "\(root)/redirected-1.tar.zst")
            let pack = try Harness.airlock(
                ["pack", "-q", "--plain-http", host] + extra,
                in: root,
                environment: ["DOCKER_CONFIG": "\(root)/docker", "AIRLOCK_CACHE": "\(root)/cache\(extra.count)"]
            )
            try #require(pack.status == 0, "\(extra): \(pack.stderr)")
            let verify = try Harness.airlock(["verify", "redirected-1.tar.zst", "--allow-unsigned"], in: root)
            #expect(verify.status == 0, "\(extra): \(verify.stderr)")
        }
        let gets = try #require(try standInRecord("http://\(host)/storage-log") as? [[String: Any]])
        let fetched = Set(gets.compactMap { $0["digest"] as? String })
        let blobs = try FileManager.default.contentsOfDirectory(atPath: "\(example)/build/oci/blobs/sha256")
        let big = blobs.filter {
            ((try? FileManager.default.attributesOfItem(atPath: "\(example)/build/oci/blobs/sha256/\($0)")[.size] as? Int) ?? 0) > 1 << 20
        }
        #expect(!big.isEmpty && big.allSatisfy { fetched.contains("sha256:\($0)") }, "every big layer came from storage: \(fetched)")
        #expect(fetched.count > big.count, "small blobs came from storage too: \(fetched)")
        #expect(gets.allSatisfy { $0["authorization"] as? Bool == false }, "credentials went to storage: \(gets)")
    }
}
