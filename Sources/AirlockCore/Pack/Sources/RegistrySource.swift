import BundleIO
import Foundation
import Hashing
import NIOCore
import OCI
import Registry
import StrictYAML

/// Images and charts pulled from registries and chart repositories on the connected side. Every
/// manifest and blob lands in the content store only after its digest checked out; blobs already
/// in the store are not fetched again (and are re-hashed when the bundle is written).
final class RegistrySource: @unchecked Sendable {
    // @unchecked: `clients`, `fetchers` and `indexes` are guarded by `lock`; the rest is immutable.
    let store: ContentStore
    let transport: TransportOptions
    let credentials: CredentialStore
    let lock = NSLock()
    private var clients: [String: RegistryClient] = [:]
    /// Plain HTTP(S) clients for chart repositories, by scheme and host.
    private var fetchers: [String: HTTPFetcher] = [:]
    /// Chart repository indexes by URL (see ``chartIndex(_:what:)``).
    var indexes: [String: ChartIndex] = [:]

    init(store: ContentStore, transport: TransportOptions, credentials: CredentialStore = CredentialStore()) {
        self.store = store
        self.transport = transport
        self.credentials = credentials
    }

    func client(for host: String) throws -> RegistryClient {
        try lock.withLock {
            if let existing = clients[host] { return existing }
            let client = try RegistryClient(host: host, options: transport, credentials: credentials)
            clients[host] = client
            return client
        }
    }

    /// The client for a chart repository's host (one per host for the whole pack).
    func fetcher(host: String, plainHTTP: Bool) -> HTTPFetcher {
        lock.withLock {
            let key = "\(plainHTTP ? "http" : "https")://\(host)"
            if let existing = fetchers[key] { return existing }
            let fetcher = HTTPFetcher(options: transport, host: host, plainHTTP: plainHTTP)
            fetchers[key] = fetcher
            return fetcher
        }
    }

    func shutdown() async {
        let (all, repositories) = lock.withLock { (Array(clients.values), Array(fetchers.values)) }
        for client in all { await client.shutdown() }
        for fetcher in repositories { await fetcher.shutdown() }
    }

    /// A blob to fetch: where from, and which image it is for (for messages).
    struct Fetch: Sendable {
        let host: String
        let repository: RepositoryName
        let descriptor: Descriptor
        let what: String
    }

    /// Resolves an image, stores its manifests, and returns the blobs still to fetch.
    func addImage(
        _ reference: ImageReference,
        name: ImageReference?,
        platforms: [Platform],
        referrers: Bool,
        written: String,
        location: String,
        into contents: inout PackContents
    ) async throws -> [Fetch] {
        let client = try client(for: reference.registry)
        let what = "\(location): \(reference)"
        let pinned = reference.digest
        let top = try await manifest(
            client: client,
            repository: reference.repositoryName,
            reference: reference.manifestReference,
            known: pinned
        )
        if let pinned, top.digest != pinned {
            throw PackError.pinnedDigestDiffers(what: what, served: top.digest.description, pinned: pinned.description)
        }
        let stored = try await storeTop(
            top,
            platforms: platforms,
            client: client,
            repository: reference.repositoryName,
            what: what,
            into: &contents
        )
        var fetches = stored.fetches
        let root = stored.root
        let carried = name ?? reference
        try contents.tag(root, refName: carried.description, kind: .image, location: location)
        let found = PlatformSubset.platforms(of: stored.kept)
        var image = BundlePredicate.Image(
            name: carried.description,
            source: written,
            digest: root.digest,
            mediaType: root.mediaType,
            size: root.size,
            platforms: found.isEmpty ? nil : found.map(\.description).sorted(),
            sourceDigest: stored.sourceDigest,
            attestationManifests: root.mediaType.isIndex
                ? PlatformSubset.attestations(
                    in: (try? ContentDocument(bytes: try store.bytes(of: root.digest), declaredType: root.mediaType).manifests) ?? []
                )
                : nil
        )
        if referrers {
            var carriedReferrers: [BundlePredicate.Referrer] = []
            for subject in [top.digest] + stored.kept.map(\.digest) {
                let (more, records) = try await addReferrers(
                    of: subject,
                    client: client,
                    repository: reference.repositoryName,
                    carriedName: carried.name,
                    what: what,
                    location: location,
                    into: &contents
                )
                fetches += more
                carriedReferrers += records
            }
            image.referrers = carriedReferrers
        }
        contents.images.append(image)
        return fetches
    }

    /// An image's top manifest as stored: the root the bundle tags, the children an index kept
    /// (all, or the asked platforms), the source index's digest when a subset was taken, and the
    /// blobs still to fetch below it.
    struct StoredTop {
        var root: Descriptor
        var kept: [Descriptor] = []
        var sourceDigest: Digest?
        var fetches: [Fetch]
    }

    /// Stores an index (or the subset of it for `platforms`) and walks its kept children, or
    /// stores a manifest and lists its blobs.
    private func storeTop(
        _ top: FetchedManifest,
        platforms: [Platform],
        client: RegistryClient,
        repository: RepositoryName,
        what: String,
        into contents: inout PackContents
    ) async throws -> StoredTop {
        let type = top.documentType
        guard type.isIndex else {
            let root = try storeDocument(top.bytes, mediaType: type, what: what, into: &contents)
            let fetches = try await blobs(
                of: top.bytes,
                mediaType: type,
                host: client.host,
                repository: repository,
                what: what,
                into: &contents
            )
            return StoredTop(root: root, fetches: fetches)
        }
        let (kept, allKept) = try PlatformSubset.select(top.bytes, platforms: platforms, what: what)
        // A subset: a new index of the kept children; the source index's digest is recorded.
        let bytes = allKept ? top.bytes : try PlatformSubset.filteredIndex(top.bytes, keeping: Set(kept.map(\.digest)))
        var stored = StoredTop(
            root: try storeDocument(bytes, mediaType: type, what: what, into: &contents),
            kept: kept,
            sourceDigest: allKept ? nil : top.digest,
            fetches: []
        )
        for child in kept {
            stored.fetches += try await walk(child, client: client, repository: repository, what: what, into: &contents, depth: 1)
        }
        return stored
    }

    func walk(
        _ descriptor: Descriptor,
        client: RegistryClient,
        repository: RepositoryName,
        what: String,
        into contents: inout PackContents,
        depth: Int
    ) async throws -> [Fetch] {
        guard IndexNesting.allows(depth) else { throw PackError.tooDeep(what: what) }
        let fetched = try await manifest(
            client: client,
            repository: repository,
            reference: .digest(descriptor.digest),
            known: descriptor.digest
        )
        _ = try storeDocument(fetched.bytes, mediaType: descriptor.mediaType, what: what, into: &contents)
        if descriptor.mediaType.isIndex {
            var fetches: [Fetch] = []
            for child in try ContentDocument(bytes: fetched.bytes, declaredType: descriptor.mediaType).manifests {
                fetches += try await walk(child, client: client, repository: repository, what: what, into: &contents, depth: depth + 1)
            }
            return fetches
        }
        return try await blobs(
            of: fetched.bytes,
            mediaType: descriptor.mediaType,
            host: client.host,
            repository: repository,
            what: what,
            into: &contents
        )
    }

    func blobs(
        of bytes: [UInt8],
        mediaType: MediaType,
        host: String,
        repository: RepositoryName,
        what: String,
        into contents: inout PackContents
    ) async throws -> [Fetch] {
        let document = try ContentDocument(bytes: bytes, declaredType: mediaType)
        var fetches: [Fetch] = []
        for (descriptor, role) in (document.config.map { [($0, PackContents.Role.config)] } ?? []) + document.layers.map({ ($0, .layer) }) {
            if descriptor.mediaType.isNondistributable {
                throw PackError.foreignLayer(what: what, digest: descriptor.digest.description, mediaType: descriptor.mediaType)
            }
            contents.addBlob(descriptor.digest, size: descriptor.size, role: role)
            fetches.append(Fetch(host: host, repository: repository, descriptor: descriptor, what: what))
        }
        return fetches
    }

    /// Stores a manifest or index exactly as served and registers it.
    func storeDocument(_ bytes: [UInt8], mediaType: MediaType, what: String, into contents: inout PackContents) throws -> Descriptor {
        _ = try ContentDocument(bytes: bytes, declaredType: mediaType)
        let stored = try store.ingest(bytes: bytes, what: what)
        contents.addBlob(stored.digest, size: stored.size, role: .manifest)
        return Descriptor(mediaType: mediaType, digest: stored.digest, size: stored.size)
    }

    /// The blobs among `fetches` not yet in the store, each once, and how many were already there.
    func pending(_ fetches: [Fetch]) -> (needed: [Fetch], cached: Int) {
        var seen: Set<Digest> = []
        let unique = fetches.filter { seen.insert($0.descriptor.digest).inserted }
        let needed = unique.filter { !store.contains($0.descriptor.digest, size: $0.descriptor.size) }
        return (needed, unique.count - needed.count)
    }

    /// Downloads every blob of `fetches` not yet in the store, `jobs` at a time.
    func fetch(_ fetches: [Fetch], jobs: Int) async throws {
        try await download(pending(fetches).needed, jobs: jobs, progress: { _ in })
    }

    /// Downloads `needed`, `jobs` at a time and in the order given, into the store when `keep`
    /// (else only into the feeds, for the bundle writer); `started` hears of each blob's feed
    /// when its download begins.
    func download(
        _ needed: [Fetch],
        jobs: Int,
        keep: Bool = true,
        progress: @escaping @Sendable (PackEvent) -> Void,
        started: @escaping @Sendable (BlobFeed) -> Void = { _ in }
    ) async throws {
        try await forEach(needed, jobs: jobs) { fetch in
            try Task.checkCancellation()
            let client = try self.client(for: fetch.host)
            let feed = try BlobFeed(
                store: self.store,
                digest: fetch.descriptor.digest,
                size: fetch.descriptor.size,
                keep: keep,
                what: "\(fetch.what): blob \(fetch.descriptor.digest)"
            )
            started(feed)
            do {
                try await client.fetchBlob(
                    fetch.repository,
                    digest: fetch.descriptor.digest,
                    size: fetch.descriptor.size,
                    into: feed
                )
                try feed.finish()
            } catch {
                // A download cancelled because another one (or the bundle writer) failed leaves its
                // feed to ``Pulls/fail(_:)``, which tells the writer that cause, not the cancellation.
                if !Task.isCancelled { feed.fail(error) }
                throw error
            }
            progress(.downloaded(digest: fetch.descriptor.digest.description, bytes: fetch.descriptor.size))
        }
    }
}

extension RegistrySource {
    /// A manifest from the cache when its digest is known (pinned, or answered by a HEAD, which
    /// Docker Hub does not count against the pull allowance), else from the registry.
    func manifest(
        client: RegistryClient,
        repository: RepositoryName,
        reference: ManifestReference,
        known: Digest?
    ) async throws -> FetchedManifest {
        var digest = known
        var mediaType: MediaType?
        if digest == nil, let head = try? await client.headManifest(repository, reference: reference) {
            (digest, mediaType) = (head.digest, head.mediaType)
        }
        if let digest, store.contains(digest), let bytes = try? store.bytes(of: digest), Digest.sha256(of: bytes) == digest {
            // A type the HEAD did not name as an index or manifest is left to the document (`documentType`).
            return FetchedManifest(bytes: bytes, mediaType: mediaType?.isIndexOrManifest == true ? mediaType : nil, digest: digest)
        }
        return try await client.fetchManifest(repository, reference: reference)
    }
}
