import Foundation
import NIOCore
import OCI
import Registry
import TestSupport
import Testing

/// `RegistryClient` itself against the real docker-registry on loopback (no airlock binary in
/// between): push and pull, chunked uploads, cross-repository mounts, downloads resumed by
/// Range after a cut, the token flow with its cache, and credentials kept off a redirect to
/// another origin. Misbehaviour is produced by `Tests/Fixtures/hostile-registry.py` in front of the
/// real registry (each mode cites the registry behaviour it reproduces).
@Suite(.removesTemporaryFolders, .needs(.dockerRegistry, .python3, .openssl))
struct RegistryClientTests {
    /// The bytes handed out in pieces, as a bundle reader hands out a blob.
    final class Pieces: ByteChunkSource, @unchecked Sendable {
        // @unchecked: `offset` is guarded by `lock`.
        private let bytes: [UInt8]
        private let size: Int
        private var offset = 0
        private let lock = NSLock()

        init(_ bytes: [UInt8], size: Int = 64 << 10) {
            self.bytes = bytes
            self.size = size
        }

        func nextChunk() async throws -> ByteBuffer? {
            lock.withLock {
                guard offset < bytes.count else { return nil }
                let end = min(offset + size, bytes.count)
                defer { offset = end }
                return ByteBuffer(bytes: bytes[offset..<end])
            }
        }
    }

    /// A download kept in memory.
    actor Received: BlobSink {
        var bytes: [UInt8] = []
        func offset() async throws -> Int64 { Int64(bytes.count) }
        func write(_ buffer: ByteBuffer) async throws { bytes += buffer.readableBytesView }
    }

    static func random(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    static func client(_ host: String, options: TransportOptions? = nil, credentials: CredentialStore? = nil) throws -> RegistryClient {
        try RegistryClient(
            host: host,
            options: options ?? TransportOptions(plainHTTPHosts: [host], environment: [:]),
            credentials: credentials ?? CredentialStore(environment: ["DOCKER_CONFIG": "/nonexistent"])
        )
    }

    static func upload(_ bytes: [UInt8], to repository: String, client: RegistryClient, chunkSize: Int64? = nil) async throws -> Digest {
        let digest = Digest.sha256(of: bytes)
        try await client.uploadBlob(try RepositoryName(repository), digest: digest, size: Int64(bytes.count), chunkSize: chunkSize) {
            Pieces(bytes)
        }
        return digest
    }

    @Test func aPushedImageIsReadBackByTagAndDigest() async throws {
        let registry = try TestRegistry(tls: false)
        defer { registry.stop() }
        let client = try Self.client(registry.host)
        try await withShutdown(client.shutdown) {
            let layer = Self.random(300 << 10)
            let config = Array(#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#.utf8)
            let layerDigest = try await Self.upload(layer, to: "team/app", client: client)
            let configDigest = try await Self.upload(config, to: "team/app", client: client, chunkSize: 16)
            #expect(try await client.blobExists(try repository("team/app"), digest: layerDigest))
            #expect(try await !client.blobExists(try repository("team/app"), digest: Digest.sha256(of: [1, 2, 3])))

            let manifest = ImageManifest(
                mediaType: MediaType.ociManifest,
                config: Descriptor(mediaType: MediaType.ociConfig, digest: configDigest, size: Int64(config.count)),
                layers: [Descriptor(mediaType: MediaType.ociLayerGzip, digest: layerDigest, size: Int64(layer.count))]
            )
            let bytes = try CanonicalJSON.encode(manifest)
            let digest = Digest.sha256(of: bytes)
            _ = try await client.putManifest(
                try repository("team/app"),
                reference: .tag("1.0"),
                mediaType: MediaType.ociManifest,
                bytes: bytes
            )

            #expect(
                try await client.manifestDigest(try repository("team/app"), reference: .tag("1.0"), accept: [MediaType.ociManifest])
                    == digest
            )
            let fetched = try await client.fetchManifest(try repository("team/app"), reference: .tag("1.0"))
            #expect(fetched.digest == digest && fetched.bytes == bytes && fetched.mediaType == MediaType.ociManifest)
            #expect(try await client.fetchManifest(try repository("team/app"), reference: .digest(digest)).bytes == bytes)
            #expect(try await client.fetchManifestIfPresent(try repository("team/app"), reference: .tag("2.0")) == nil)
            #expect(try await client.listTags(try repository("team/app")) == ["1.0"])
            #expect(try await client.fetchSmallBlob(try repository("team/app"), digest: configDigest) == config)
            let received = Received()
            try await client.fetchBlob(try repository("team/app"), digest: layerDigest, size: Int64(layer.count), into: received)
            #expect(await received.bytes == layer)

            // The registry checks the digest too: other bytes under this name are refused.
            await #expect(throws: RegistryError.self) {
                try await client.uploadBlob(try repository("team/app"), digest: layerDigest, size: 3) { Pieces([1, 2, 3]) }
            }
        }
    }

    @Test func aBlobIsMountedFromAnotherRepositoryOfTheRegistry() async throws {
        let registry = try TestRegistry(tls: false)
        defer { registry.stop() }
        let client = try Self.client(registry.host)
        try await withShutdown(client.shutdown) {
            let digest = try await Self.upload(Self.random(40 << 10), to: "team/base", client: client)
            #expect(try await !client.blobExists(try repository("team/app"), digest: digest))
            #expect(try await client.mountBlob(try repository("team/app"), digest: digest, from: try repository("team/base")))
            #expect(try await client.blobExists(try repository("team/app"), digest: digest))
            // A blob the source does not hold cannot be mounted; the registry opens an upload instead.
            let absent = Digest.sha256(of: Array("absent".utf8))
            #expect(try await !client.mountBlob(try repository("team/other"), digest: absent, from: try repository("team/base")))
        }
    }

    /// hostile-registry's cutDownloads: every blob GET is cut after 400 KiB of its body (a flaky
    /// link). The client resumes each time with a Range request from what it holds (a blob of a
    /// MiB or more streams into the sink over a connection of its own, so what arrived is kept).
    @Test func aCutDownloadResumesWhereItStopped() async throws {
        let registry = try TestRegistry(tls: false)
        defer { registry.stop() }
        let root = try Harness.temporaryDirectory("resume")
        let layer = Self.random(1_500 << 10)
        let direct = try Self.client(registry.host)
        let digest = try await withShutdown(direct.shutdown) { try await Self.upload(layer, to: "team/app", client: direct) }
        let log = "\(root)/proxy.log"
        let proxy = try PythonServer(fixture: "hostile-registry.py", arguments: ["http://\(registry.host)", log, "cutDownloads=409600"])
        defer { proxy.stop() }
        let host = "127.0.0.1:\(proxy.port)"
        let client = try Self.client(host)
        let received = Received()
        try await withShutdown(client.shutdown) {
            try await client.fetchBlob(try repository("team/app"), digest: digest, size: Int64(layer.count), into: received)
        }
        #expect(await received.bytes == layer)
        let gets = try Self.requests(log).filter { ($0["path"] as? String ?? "").contains("/blobs/sha256:") }
        #expect(gets.count == 4, "1500 KiB in pieces of at most 400 KiB, each attempt resuming: \(gets)")
        #expect(gets.dropLast().allSatisfy { $0["status"] as? String == "cut" } && gets.last?["status"] as? Int == 206, "\(gets)")
    }

    /// A token is asked for once per scope and reused for every request it covers; a push asks for
    /// the push scope, which also covers pulls of that repository.
    @Test func theTokenFlowAsksOncePerScopeAndReusesTheToken() async throws {
        let root = try Harness.temporaryDirectory("token-client")
        let (ca, tls) = try TokenService.keys(root: root)
        let log = "\(root)/tokens.log"
        let (issuer, registry) = try TokenService.start(root: root, tls: tls, log: log, username: "builder", password: "token-pass-7c1e")
        defer { issuer.stop() }
        defer { registry.stop() }
        let credentials = CredentialStore(environment: ["DOCKER_CONFIG": "\(root)/docker"])
        try credentials.store(username: "builder", password: "token-pass-7c1e", for: registry.host)
        var options = TransportOptions(caFiles: [ca.certificate], plainHTTPHosts: [registry.host], environment: [:])
        options.userAgent = "airlock-test"
        let client = try Self.client(registry.host, options: options, credentials: credentials)
        try await withShutdown(client.shutdown) {
            for index in 0..<3 {
                let digest = try await Self.upload(Self.random(1024 + index), to: "team/app", client: client)
                #expect(try await client.blobExists(try repository("team/app"), digest: digest))
            }
        }
        let requests = try Self.requests(log)
        let scopes = requests.map { ($0["scopes"] as? [String] ?? []).joined(separator: " ") }
        #expect(requests.count == 1 && scopes.first?.contains("repository:team/app:pull,push") == true, "one token for all: \(scopes)")
        #expect(requests.allSatisfy { $0["user"] as? String == "builder" })
    }

    /// hostile-registry's redirectBlobs: the registry answers a blob GET with a redirect to another
    /// origin (object storage); the credentials the registry wants stay with the registry.
    @Test func credentialsStayOnTheirOriginWhenABlobIsRedirected() async throws {
        let registry = try TestRegistry(tls: false)
        defer { registry.stop() }
        let root = try Harness.temporaryDirectory("redirect")
        let layer = Self.random(20 << 10)
        let direct = try Self.client(registry.host)
        let digest = try await withShutdown(direct.shutdown) { try await Self.upload(layer, to: "team/app", client: direct) }
        let log = "\(root)/proxy.log"
        let storage = try freePort()
        let proxy = try PythonServer(
            fixture: "hostile-registry.py",
            arguments: ["http://\(registry.host)", log, "basic=operator:hostile-pass-3", "redirectBlobs=\(storage)"]
        )
        defer { proxy.stop() }
        let host = "127.0.0.1:\(proxy.port)"
        let credentials = CredentialStore(environment: ["DOCKER_CONFIG": "\(root)/docker"])
        try credentials.store(username: "operator", password: "hostile-pass-3", for: host)
        let client = try Self.client(host, credentials: credentials)
        let received = Received()
        try await withShutdown(client.shutdown) {
            try await client.fetchBlob(try repository("team/app"), digest: digest, size: Int64(layer.count), into: received)
        }
        #expect(await received.bytes == layer)
        let requests = try Self.requests(log)
        let atRegistry = requests.filter { $0["redirected"] == nil && ($0["path"] as? String ?? "").contains("/blobs/") }
        let atStorage = requests.filter { $0["redirected"] as? Bool == true }
        #expect(atRegistry.contains { $0["status"] as? Int == 307 && $0["authorization"] as? Bool == true }, "\(requests)")
        #expect(!atStorage.isEmpty && atStorage.allSatisfy { $0["authorization"] as? Bool == false }, "\(requests)")
    }

    static func requests(_ log: String) throws -> [[String: Any]] {
        try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").compactMap {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }
}

/// A repository path of the test registry.
private func repository(_ path: String) throws -> RepositoryName { try RepositoryName(path) }
