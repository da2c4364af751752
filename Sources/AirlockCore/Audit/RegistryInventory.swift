import Foundation
import OCI
import Registry

/// What a registry inside the network holds: its repositories, their tags, and every blob their
/// manifests reference, each with one repository that has it. Taken there (`airlock inventory`)
/// and carried out, it lets the next pack (`pack --since INVENTORY`) leave out the layers the
/// registry already has, with no earlier bundle kept on the connected side.
///
/// It is not signed and need not be: it only decides what a delta leaves out. A push of that delta
/// checks that the registry still has each left-out layer (or mounts it from the repository listed
/// here) before it sends anything, and everything the delta carries is signed as usual.
public struct RegistryInventory: Codable, Sendable, Equatable {
    public static let kindName = "RegistryInventory"

    public var apiVersion = "airlock/v1"
    public var kind = Self.kindName
    /// HOST[:PORT][/PREFIX], as given.
    public var registry: String
    public var created: String
    public var repositories: [Repository]
    /// Sorted by digest; each blob once.
    public var blobs: [Blob]

    public struct Repository: Codable, Sendable, Equatable {
        public var name: String
        /// Tag → the digest of the manifest it points at.
        public var tags: [String: String]
    }

    public struct Blob: Codable, Sendable, Equatable {
        public var digest: String
        public var size: Int64
        /// A repository whose manifests reference it (the first by name).
        public var repository: String
    }

    /// Reads an inventory file; nil when `path` is some other JSON document (a detached envelope).
    static func loadIfInventory(_ path: String) throws -> RegistryInventory? {
        guard path.hasSuffix(".json"), let data = FileManager.default.contents(atPath: path) else { return nil }
        struct Kind: Decodable { var kind: String? }
        guard (try? JSONDecoder().decode(Kind.self, from: data))?.kind == kindName else { return nil }
        do {
            let inventory = try JSONDecoder().decode(RegistryInventory.self, from: data)
            guard inventory.apiVersion == "airlock/v1" else {
                throw AuditError.inventoryVersion(path: path, apiVersion: inventory.apiVersion)
            }
            for blob in inventory.blobs where (try? Digest(blob.digest)) == nil || blob.size < 0 {
                throw AuditError.inventoryBlob(path: path, digest: blob.digest, size: blob.size)
            }
            return inventory
        } catch let error as AuditError {
            throw error
        } catch {
            throw AuditError.inventoryUnparseable(path: path, detail: "\(error)")
        }
    }

    /// The inventory as JSON: sorted keys, one document.
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self) + Data("\n".utf8)
    }
}

extension RegistryInventory {
    public struct Options: Sendable {
        /// HOST[:PORT][/PREFIX]: with a prefix, only the repositories under it.
        public var registry: String
        /// Repositories (paths under the prefix) to take instead of the registry's catalog.
        public var repositories: [String]
        public var transport: TransportOptions
        /// When it was taken, seconds since 1970.
        public var created: Int64

        public init(registry: String, repositories: [String] = [], transport: TransportOptions, created: Int64) {
            self.registry = registry
            self.repositories = repositories
            self.transport = transport
            self.created = created
        }
    }

    /// Walks every tag of every repository (from the catalog, or those named) down through index
    /// children to configs and layers, each manifest once per repository; an index child the
    /// registry does not hold is skipped (only what it holds counts). A blob several repositories
    /// reference is listed with the first of them by name, so the same registry gives the same file.
    public static func take(_ options: Options, progress: @escaping @Sendable (String) -> Void = { _ in }) async throws -> RegistryInventory
    {
        try await walk(options, progress: progress).inventory
    }

    /// An inventory, with what each index under a referrers-tag-schema tag (`sha256-<hex>`) lists.
    struct Walked {
        var inventory: RegistryInventory
        /// `repository:sha256-<hex>` → the manifest digests its index lists.
        var referrersIndexes: [String: [Digest]]
    }

    /// ``take(_:progress:)``, keeping what audit reads of the referrers indexes met on the way.
    static func walk(_ options: Options, progress: @escaping @Sendable (String) -> Void = { _ in }) async throws -> Walked {
        let target = try PushTarget(options.registry)
        let client = try RegistryClient(host: target.host, options: options.transport)
        return try await withShutdown(client.shutdown) {
            try await walk(options, target: target, client: client, progress: progress)
        }
    }

    private static func walk(
        _ options: Options,
        target: PushTarget,
        client: RegistryClient,
        progress: @escaping @Sendable (String) -> Void
    ) async throws -> Walked {
        try await client.ping()
        let names: [RepositoryName]
        if options.repositories.isEmpty {
            let under = target.prefix.isEmpty ? "" : target.prefix + "/"
            names = try await client.listRepositories().filter { $0.hasPrefix(under) }.map { try RepositoryName($0) }.sorted()
        } else {
            names = try Set(
                options.repositories.map { try target.repository(for: $0.trimmingCharacters(in: CharacterSet(charactersIn: "/"))) }
            )
            .sorted()
        }
        let walk = InventoryWalk(repositories: names)
        let named = !options.repositories.isEmpty
        // Every repository's tags, then every tag at once (up to --jobs): a repository of many
        // tags is walked as fast as many repositories of one.
        try await forEach(names, jobs: options.transport.jobs) { repository in
            progress(repository.path)
            do {
                await walk.listed(try await client.listTags(repository), in: repository)
            } catch RegistryError.status(_, _, 404, _) where !named {
                // in the catalog with every tag deleted
            } catch RegistryError.status(_, _, 404, _) {
                throw AuditError.noSuchRepository(host: target.host, repository: repository.path, registry: options.registry)
            }
        }
        try await forEach(await walk.tags, jobs: options.transport.jobs) { repository, tag in
            guard
                let manifest = try await client.fetchManifestIfPresent(
                    repository,
                    reference: try ManifestReference(tag)
                )
            else { return }
            await walk.tagged(tag, manifest: manifest, in: repository)
            try await walk.walk(manifest, in: repository, client: client)
        }
        let (repositories, blobs) = await walk.result()
        let inventory = RegistryInventory(
            registry: options.registry,
            created: formatRFC3339(options.created),
            repositories: repositories.sorted { $0.name < $1.name },
            blobs: blobs.sorted { $0.digest < $1.digest }
        )
        return Walked(inventory: inventory, referrersIndexes: await walk.referrersIndexes)
    }
}

/// The shared state of an inventory's walk: the manifests seen (per repository), the blobs found.
private actor InventoryWalk {
    private var seen: Set<String> = []
    private var blobs: [String: RegistryInventory.Blob] = [:]
    /// Repository → tag → manifest digest.
    private var repositories: [String: [String: String]]
    /// Every (repository, tag) listed, in order.
    private(set) var tags: [(RepositoryName, String)] = []

    init(repositories: [RepositoryName]) {
        self.repositories = Dictionary(uniqueKeysWithValues: repositories.map { ($0.path, [:]) })
    }

    func listed(_ names: [String], in repository: RepositoryName) { tags += names.map { (repository, $0) } }

    /// `repository:sha256-<hex>` → the manifest digests its index lists.
    private(set) var referrersIndexes: [String: [Digest]] = [:]

    func tagged(_ tag: String, manifest: FetchedManifest, in repository: RepositoryName) {
        repositories[repository.path, default: [:]][tag] = manifest.digest.description
        if Digest(referrersTag: tag) != nil,
            let listed = try? ContentDocument(bytes: manifest.bytes, declaredType: MediaType.ociIndex).manifests, !listed.isEmpty
        {
            referrersIndexes["\(repository):\(tag)"] = listed.map(\.digest)
        }
    }

    /// Records `manifest`'s blobs and walks its child manifests, unless another task got there first.
    func walk(_ manifest: FetchedManifest, in repository: RepositoryName, client: RegistryClient) async throws {
        guard seen.insert("\(repository)@\(manifest.digest)").inserted else { return }
        let document: ContentDocument
        do {
            document = try ContentDocument(bytes: manifest.bytes, declaredType: manifest.documentType)
        } catch {
            throw AuditError.badManifest(reference: "\(repository)@\(manifest.digest)", detail: "\(error)")
        }
        for blob in (document.config.map { [$0] } ?? []) + document.layers {
            let digest = blob.digest.description
            if let known = blobs[digest], known.repository <= repository.path { continue }
            blobs[digest] = .init(digest: digest, size: blob.size, repository: repository.path)
        }
        for child in document.manifests where !seen.contains("\(repository)@\(child.digest)") {
            guard let fetched = try await client.fetchManifestIfPresent(repository, reference: .digest(child.digest))
            else { continue }
            try await walk(fetched, in: repository, client: client)
        }
    }

    func result() -> ([RegistryInventory.Repository], [RegistryInventory.Blob]) {
        (repositories.map { RegistryInventory.Repository(name: $0.key, tags: $0.value) }, Array(blobs.values))
    }
}
