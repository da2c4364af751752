import BundleIO
import Foundation
import OCI
import Registry
import Signing

/// A bundle (or an unpacked bundle folder) as a read-only registry serves it, for networks with
/// no registry yet. Repositories are named as `airlock push` names them under its target (the
/// source path kept, `--prefix` in front, `--rules` applied), so a later push into a real registry
/// gives the same names. The signature is checked when the bundle is opened, and every manifest
/// and blob is read and checked against the statement then, before anything is served. A blob is
/// then sent without being hashed again while the files it is read from show the identity they
/// had when it was checked (``FileIdentity``); once they change, it is hashed on the way out and
/// its last piece held back unless it still matches.
public struct ServedBundle: ServedContent {
    struct Repository: Sendable {
        var tags: [String: ServedManifest] = [:]
        var manifests: [Digest: ServedManifest] = [:]
        var blobs: [Digest: Int64] = [:]
        /// Subject digest → the manifests that refer to it.
        var referrers: [Digest: [ServedReferrer]] = [:]
    }

    /// The bundle carries no signature (served only because the policy allowed it).
    public let unsigned: Bool
    /// Where it was opened from, and what its statement says it is.
    public let path: String
    public let name: String
    public let version: String
    public let created: String
    static let chunkSize = 256 << 10
    private let source: any PushSource
    private let plans: [ImagePlan]
    private let served: [RepositoryName: Repository]
    /// Blob entry → the identity of its files when it was read whole and matched its digest.
    private let checked: [String: [FileIdentity]]

    /// Opens `path` (a bundle file or an unpacked folder): checks the signature, then reads every
    /// manifest and every blob, each checked against the statement.
    /// With `cosign`, every image must carry a cosign signature by one of its keys or identities (as for push).
    public static func open(
        _ path: String,
        policy: SignaturePolicy,
        prefix: String,
        rules: PushRules,
        base: String? = nil,
        cosign: CosignTrust = CosignTrust(),
        attestations: [String] = []
    ) async throws -> ServedBundle {
        // Smaller pieces than push reads: a server holds one reader per blob being sent, to as
        // many clients as pull at once.
        let source = try openPushSource(path, policy: policy, chunkSize: Self.chunkSize, base: base)
        if let base = source.statement.predicate.base, !source.missingLeftOut().isEmpty {
            throw DeltaError.needsBase(base, by: .serve)
        }
        if !cosign.isEmpty {
            _ = try await ImageSignatureCheck.require(source, trust: cosign, attestations: attestations, consequence: "not served")
        }
        let plans = try await ImagePlan.make(from: source, target: try PushTarget(host: "localhost", prefix: prefix), rules: rules)
        guard !plans.isEmpty else { throw PushError.nothingToServe(source: path) }
        var served: [RepositoryName: Repository] = [:]
        for plan in plans {
            let name = plan.repository
            var repository = served[name] ?? Repository()
            let root = ServedManifest(mediaType: plan.root.mediaType, digest: plan.root.digest, bytes: plan.rootBytes)
            repository.manifests[root.digest] = root
            if let tag = plan.tag { repository.tags[tag] = root }
            for child in plan.children {
                let manifest = ServedManifest(
                    mediaType: child.descriptor.mediaType,
                    digest: child.descriptor.digest,
                    bytes: child.bytes
                )
                repository.manifests[manifest.digest] = manifest
            }
            for blob in plan.blobs { repository.blobs[blob.digest] = blob.size }
            served[name] = repository
        }
        for (name, var repository) in served {
            for manifest in repository.manifests.values.sorted(by: { $0.digest < $1.digest }) {
                let document = try ContentDocument(bytes: manifest.bytes, declaredType: manifest.mediaType)
                guard let subject = document.subject else { continue }
                repository.referrers[subject.digest, default: []].append(
                    ServedReferrer(
                        mediaType: manifest.mediaType,
                        digest: manifest.digest,
                        size: Int64(manifest.bytes.count),
                        artifactType: document.artifactType ?? document.config?.mediaType,
                        annotations: document.annotations.isEmpty ? nil : document.annotations
                    )
                )
            }
            served[name] = repository
        }
        let checked = try await checkBlobs(Set(plans.flatMap(\.blobs).map(\.digest)), in: source, path: path)
        let predicate = source.statement.predicate
        return ServedBundle(
            unsigned: source.unsigned,
            path: path,
            name: predicate.name,
            version: predicate.version,
            created: predicate.created,
            source: source,
            plans: plans,
            served: served,
            checked: checked
        )
    }

    /// Reads every blob whole against its signed digest (one at a time per core); returns the
    /// identity its files showed before the read, for those that showed the same after it.
    private static func checkBlobs(
        _ digests: Set<Digest>,
        in source: any PushSource,
        path: String
    ) async throws -> [String: [FileIdentity]] {
        let checked = CheckedEntries()
        try await forEach(digests.sorted { $0.description < $1.description }, jobs: ProcessInfo.processInfo.activeProcessorCount) {
            digest in
            let entry = BundleFormat.blobEntry(digest)
            do {
                if let identity = try await source.checkWhole(entry) { await checked.add(entry, identity) }
            } catch RegistryError.digestMismatch(_, _, let actual) {
                throw PushError.blobAlteredBeforeServing(source: path, digest: digest.description, actual: actual)
            }
        }
        return await checked.identities
    }

    /// Source name → `address`/served name (`:TAG` or `@DIGEST`), one per image or chart, as push
    /// maps them.
    public func mappings(at address: String) -> [PushReport.Mapping] {
        plans.map { $0.mapping(host: address) }
    }

    /// Its label in messages: `NAME VERSION (PATH)`.
    public var label: String { "\(name) \(version) (\((path as NSString).lastPathComponent))" }

    public var repositories: [RepositoryName] { served.keys.sorted() }

    public func tags(of repository: RepositoryName) -> [String]? { served[repository].map { $0.tags.keys.sorted() } }

    public func manifest(_ repository: RepositoryName, reference: ManifestReference) -> ServedManifest? {
        guard let served = served[repository] else { return nil }
        switch reference {
        case .tag(let tag): return served.tags[tag]
        case .digest(let digest): return served.manifests[digest]
        }
    }

    public func blobSize(_ repository: RepositoryName, digest: Digest) -> Int64? { served[repository]?.blobs[digest] }

    public func referrers(_ repository: RepositoryName, of digest: Digest) -> [ServedReferrer]? {
        served[repository].map { $0.referrers[digest] ?? [] }
    }

    public func blob(_ repository: RepositoryName, digest: Digest) throws -> any ByteChunkSource {
        let entry = BundleFormat.blobEntry(digest)
        return try source.chunks(of: entry, unchangedSince: checked[entry])
    }
}

/// The blobs ``ServedBundle`` checked at opening, gathered from the tasks that read them.
private actor CheckedEntries {
    var identities: [String: [FileIdentity]] = [:]

    func add(_ entry: String, _ identity: [FileIdentity]) { identities[entry] = identity }
}
