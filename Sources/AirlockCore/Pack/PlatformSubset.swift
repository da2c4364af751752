import Foundation
import OCI

/// A platform subset of an image index, the same whatever the source (registry, layout, `docker
/// save` archive): the children for the wanted platforms, plus the attestation manifests buildx
/// attached to them (`vnd.docker.reference.type: attestation-manifest`, whose
/// `vnd.docker.reference.digest` names a kept child), in a new index that changes nothing else.
enum PlatformSubset {
    static let referenceType = "vnd.docker.reference.type"
    static let referenceDigest = "vnd.docker.reference.digest"

    /// The children to keep, and whether that is all of them.
    static func select(_ indexBytes: [UInt8], platforms: [Platform], what: String) throws -> (kept: [Descriptor], all: Bool) {
        let all = try ContentDocument(bytes: indexBytes, declaredType: MediaType.ociIndex).manifests
        guard !platforms.isEmpty else { return (all, true) }
        let wanted = all.filter { child in
            child.annotations?[referenceType] != "attestation-manifest"
                && child.platform.map { found in platforms.contains { found.satisfies($0) } } ?? false
        }
        guard !wanted.isEmpty else {
            let offered = all.filter { $0.annotations?[referenceType] != "attestation-manifest" }.compactMap(\.platform).map(\.description)
            throw PackError.noPlatform(what: what, asked: platforms.map(\.description), offered: offered)
        }
        let keptDigests = Set(wanted.map(\.digest.description))
        let kept = all.filter { child in
            keptDigests.contains(child.digest.description)
                || (child.annotations?[referenceType] == "attestation-manifest"
                    && child.annotations?[referenceDigest].map(keptDigests.contains) == true)
        }
        return (kept, kept.count == all.count)
    }

    /// The index with only the kept children; every other field and each kept descriptor unchanged.
    static func filteredIndex(_ bytes: [UInt8], keeping digests: Set<Digest>) throws -> [UInt8] {
        guard var object = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
            let manifests = object["manifests"] as? [[String: Any]]
        else {
            throw PackError.indexUnparseable
        }
        object["manifests"] = manifests.filter { ($0["digest"] as? String).flatMap { try? Digest($0) }.map(digests.contains) ?? false }
        return Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
    }

    /// The attestation manifests among an index's children, for the statement.
    static func attestations(in children: [Descriptor]) -> [BundlePredicate.AttestationManifest]? {
        let found = children.compactMap { child -> BundlePredicate.AttestationManifest? in
            guard child.annotations?[referenceType] == "attestation-manifest",
                let attests = child.annotations?[referenceDigest].flatMap({ try? Digest($0) })
            else {
                return nil
            }
            return .init(digest: child.digest, attests: attests)
        }
        return found.isEmpty ? nil : found.sorted { $0.digest < $1.digest }
    }

    /// The attestation manifests of the index `root`, read with `document`.
    static func attestations(of root: Descriptor, document: (Descriptor) throws -> [UInt8]) -> [BundlePredicate.AttestationManifest]? {
        guard root.mediaType.isIndex, let bytes = try? document(root),
            let children = try? ContentDocument(bytes: bytes, declaredType: root.mediaType).manifests
        else { return nil }
        return attestations(in: children)
    }

    /// The platforms of the kept children (attestation manifests' `unknown/unknown` left out).
    static func platforms(of kept: [Descriptor]) -> [Platform] {
        kept.filter { $0.annotations?[referenceType] != "attestation-manifest" }.compactMap(\.platform)
    }
}

extension GraphCopier {
    /// Copies `root`, or, for an index and some wanted platforms, a subset of it: the new index is
    /// stored in `store`, the kept children copied. Returns the root carried, the platforms found,
    /// and the source index's digest when a subset was made.
    func copy(
        _ root: Descriptor,
        platforms: [Platform],
        store: ContentStore,
        into contents: inout PackContents
    ) throws -> (root: Descriptor, platforms: [Platform], sourceDigest: Digest?) {
        // As for images from registries: a single-platform image is carried as it is.
        guard !platforms.isEmpty, root.mediaType.isIndex else {
            let found = try copy(root, into: &contents).filter { !($0.os == "unknown" && $0.architecture == "unknown") }
            return (root, found, nil)
        }
        let bytes = try document(root)
        let (kept, all) = try PlatformSubset.select(bytes, platforms: platforms, what: what)
        if all { return (root, try copy(root, into: &contents).filter { !($0.os == "unknown" && $0.architecture == "unknown") }, nil) }
        let subset = try PlatformSubset.filteredIndex(bytes, keeping: Set(kept.map(\.digest)))
        let stored = try store.ingest(bytes: subset, what: what)
        contents.addBlob(stored.digest, size: stored.size, role: .manifest)
        for child in kept {
            if child.mediaType.isIndexOrManifest {
                _ = try copy(child, into: &contents, depth: 1)
            } else {
                try register(child, .layer, &contents)
            }
        }
        return (
            Descriptor(mediaType: root.mediaType, digest: stored.digest, size: stored.size), PlatformSubset.platforms(of: kept),
            root.digest
        )
    }
}
