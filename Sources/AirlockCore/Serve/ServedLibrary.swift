import Foundation
import OCI
import Registry
import Signing

/// Several bundles served as one registry, for a site that takes upgrades without a registry: a
/// tag present in more than one resolves to the newest bundle by the statements' version order
/// (semantic versions, `created` breaking ties); digests and blobs are found in whichever bundle
/// holds them. Bundles join while it serves (``add(_:)``), each checked before it is served.
///
/// `@unchecked Sendable`: `bundles` is guarded by `lock`; each ``ServedBundle`` is immutable.
public final class ServedLibrary: ServedContent, @unchecked Sendable {
    private let lock = NSLock()
    /// Oldest first.
    private var bundles: [ServedBundle] = []

    public init() {}

    /// Newest first: the order a tag is looked up in.
    private var newestFirst: [ServedBundle] { lock.withLock { bundles.reversed() } }

    public var all: [ServedBundle] { lock.withLock { bundles } }

    /// Adds a bundle; returns one line per tag it now answers for in place of an older bundle, or
    /// leaves to a newer one.
    @discardableResult
    public func add(_ bundle: ServedBundle) -> [String] {
        lock.withLock {
            let index =
                bundles.firstIndex {
                    ImportLedger.compare(bundle.version, bundle.created, $0.version, $0.created) == .orderedAscending
                } ?? bundles.endIndex
            bundles.insert(bundle, at: index)
            var lines: [String] = []
            for repository in bundle.repositories {
                for tag in bundle.tags(of: repository) ?? [] {
                    let holders = bundles.filter { $0.manifest(repository, reference: .tag(tag)) != nil }
                    guard holders.count > 1, let newest = holders.last else { continue }
                    let older = holders.dropLast().map(\.label).joined(separator: ", ")
                    lines.append("\(repository):\(tag) is served from \(newest.label), newer than \(older)")
                }
            }
            return lines
        }
    }

    /// Whether a bundle from `path` is served already.
    public func holds(path: String) -> Bool { lock.withLock { bundles.contains { $0.path == path } } }

    public var repositories: [RepositoryName] { Array(Set(newestFirst.flatMap(\.repositories))).sorted() }

    public func tags(of repository: RepositoryName) -> [String]? {
        let lists = newestFirst.compactMap { $0.tags(of: repository) }
        return lists.isEmpty ? nil : Array(Set(lists.joined())).sorted()
    }

    public func manifest(_ repository: RepositoryName, reference: ManifestReference) -> ServedManifest? {
        for bundle in newestFirst {
            if let manifest = bundle.manifest(repository, reference: reference) { return manifest }
        }
        return nil
    }

    public func blobSize(_ repository: RepositoryName, digest: Digest) -> Int64? {
        for bundle in newestFirst {
            if let size = bundle.blobSize(repository, digest: digest) { return size }
        }
        return nil
    }

    public func blob(_ repository: RepositoryName, digest: Digest) throws -> any ByteChunkSource {
        guard let bundle = newestFirst.first(where: { $0.blobSize(repository, digest: digest) != nil }) else {
            throw PushError.unlisted(path: BundleFormat.blobEntry(digest))
        }
        return try bundle.blob(repository, digest: digest)
    }

    public func referrers(_ repository: RepositoryName, of digest: Digest) -> [ServedReferrer]? {
        let lists = newestFirst.compactMap { $0.referrers(repository, of: digest) }
        guard !lists.isEmpty else { return nil }
        var seen: Set<Digest> = []
        return lists.joined().filter { seen.insert($0.digest).inserted }
    }

    /// Writes the mapping (source → `address`/served name@digest) and node mirror configs that send
    /// pulls of the source registries to this server at `address` (containerd `hosts.toml`, k3s
    /// `registries.yaml`, containers `registries.conf`), as push writes them; returns the paths.
    public func writeNodeConfigs(to folder: String, address: String, plainHTTP: Bool, prefix: String, rules: PushRules) throws -> [String] {
        let configs = MirrorConfigs(
            target: try PushTarget(host: address, prefix: prefix),
            plainHTTP: plainHTTP,
            caFiles: [],
            mappings: mappings(at: address),
            rules: rules,
            author: "airlock serve"
        )
        return try configs.write(to: folder)
    }

    /// Every bundle's mappings, the newest bundle's for a source two bundles carry.
    public func mappings(at address: String) -> [PushReport.Mapping] {
        var seen: Set<String> = []
        return newestFirst.flatMap { $0.mappings(at: address) }.filter { seen.insert($0.source).inserted }
            .sorted { $0.source < $1.source }
    }
}
