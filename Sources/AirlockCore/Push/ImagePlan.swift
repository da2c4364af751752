import Foundation
import OCI

/// One tagged image or chart of the bundle, resolved for a push: where it goes, its manifests in
/// push order (children first), and the blobs they need.
struct ImagePlan: Sendable {
    struct Document: Sendable {
        let descriptor: Descriptor
        let bytes: [UInt8]
    }

    let sourceName: String
    let kind: LayoutKind
    let repository: RepositoryName
    let tag: String?
    let root: Descriptor
    let rootBytes: [UInt8]
    /// Child manifests, deepest first.
    let children: [Document]
    let blobs: [Descriptor]

    func targetName(host: String) -> String {
        "\(host)/\(repository)" + (tag.map { ":\($0)" } ?? "@\(root.digest)")
    }

    /// The digest of the manifest this one refers to (`subject`), for signatures, attestations
    /// and SBOMs.
    var subject: String? {
        ((try? JSONSerialization.jsonObject(with: Data(rootBytes))) as? [String: Any])
            .flatMap { $0["subject"] as? [String: Any] }?["digest"] as? String
    }

    /// Its `artifactType`, else its config's media type when that is not an image config.
    var artifactType: MediaType? {
        let object = (try? JSONSerialization.jsonObject(with: Data(rootBytes))) as? [String: Any]
        if let type = object?["artifactType"] as? String { return MediaType(type) }
        let config = ((object?["config"] as? [String: Any])?["mediaType"] as? String).map { MediaType($0) }
        return config.flatMap { $0.isImageConfig ? nil : $0 }
    }

    /// An artifact rather than an image: a referrer, or a manifest of a non-image type (charts
    /// included).
    var isArtifact: Bool { subject != nil || artifactType != nil }

    /// This manifest as an entry of a referrers index.
    func referrerDescriptor() -> [String: Any] {
        let object = (try? JSONSerialization.jsonObject(with: Data(rootBytes))) as? [String: Any]
        var entry: [String: Any] = ["mediaType": root.mediaType.rawValue, "digest": root.digest.description, "size": root.size]
        if let type = artifactType { entry["artifactType"] = type.rawValue }
        if let annotations = object?["annotations"] as? [String: String], !annotations.isEmpty { entry["annotations"] = annotations }
        return entry
    }

    /// Source → where it lands on `host`, with its digest.
    func mapping(host: String) -> PushReport.Mapping {
        PushReport.Mapping(source: sourceName, target: targetName(host: host), digest: root.digest.description, kind: kind)
    }

    /// Reads `oci/index.json` and every manifest it reaches (each verified against the statement).
    static func make(from source: any PushSource, target: PushTarget, rules: PushRules) async throws -> [ImagePlan] {
        let index = try ContentDocument(bytes: try await source.bytes(of: "oci/index.json"), declaredType: MediaType.ociIndex)
        var plans: [ImagePlan] = []
        for root in index.manifests {
            guard let refName = root.refName else { continue }
            let kind = root.annotations?[BundleFormat.kindAnnotation].flatMap(LayoutKind.init(rawValue:)) ?? .image
            let repository: RepositoryName
            let tag: String?
            if kind == .chart || kind == .chartReferrer {
                // charts/NAME:TAG, or a chart's attestation by digest: charts/NAME@sha256:…
                let byDigest = refName.split(separator: "@", maxSplits: 1).map(String.init)
                let parts = byDigest.count > 1 ? [byDigest[0]] : refName.split(separator: ":", maxSplits: 1).map(String.init)
                repository = try target.repository(for: try rules.path(for: parts[0], fallback: parts[0]))
                tag = parts.count > 1 ? parts[1] : nil
            } else {
                let reference = try ImageReference(refName)
                repository = try target.repository(for: try rules.path(for: reference.name, fallback: reference.repository))
                tag = reference.tag
            }
            var children: [Document] = []
            var blobs: [Descriptor] = []
            let rootBytes = try await walk(root, source: source, isRoot: true, children: &children, blobs: &blobs, depth: 0)
            plans.append(
                ImagePlan(
                    sourceName: refName,
                    kind: kind,
                    repository: repository,
                    tag: tag,
                    root: root,
                    rootBytes: rootBytes,
                    children: children,
                    blobs: blobs
                )
            )
        }
        return plans
    }

    private static func walk(
        _ descriptor: Descriptor,
        source: any PushSource,
        isRoot: Bool,
        children: inout [Document],
        blobs: inout [Descriptor],
        depth: Int
    ) async throws -> [UInt8] {
        guard IndexNesting.allows(depth) else { throw PushError.tooDeep(digest: descriptor.digest.description) }
        let bytes = try await source.bytes(of: BundleFormat.blobEntry(descriptor.digest))
        let document = try ContentDocument(bytes: bytes, declaredType: descriptor.mediaType)
        for child in document.manifests {
            if child.mediaType.isIndexOrManifest {
                _ = try await walk(child, source: source, isRoot: false, children: &children, blobs: &blobs, depth: depth + 1)
            } else {
                blobs.append(child)
            }
        }
        if let config = document.config { blobs.append(config) }
        blobs += document.layers
        if !isRoot && !children.contains(where: { $0.descriptor.digest == descriptor.digest }) {
            children.append(Document(descriptor: descriptor, bytes: bytes))
        }
        return bytes
    }
}

/// One blob and every repository (and image) of the push that needs it.
struct BlobWork: Sendable {
    let digest: Digest
    let size: Int64
    var repositories: [RepositoryName]
    /// The first image or chart that uses it, for messages: `image registry/repo:tag`.
    var owner: String

    /// Groups the plans' blobs by digest, largest first (so the long uploads start early).
    static func group(_ plans: [ImagePlan]) -> [BlobWork] {
        var byDigest: [Digest: BlobWork] = [:]
        var order: [Digest] = []
        for plan in plans {
            for blob in plan.blobs {
                let key = blob.digest
                if byDigest[key] == nil {
                    byDigest[key] = BlobWork(
                        digest: key,
                        size: blob.size,
                        repositories: [],
                        owner: "\(plan.kind.rawValue) \(plan.sourceName)"
                    )
                    order.append(key)
                }
                if !byDigest[key]!.repositories.contains(plan.repository) { byDigest[key]!.repositories.append(plan.repository) }
            }
        }
        return order.compactMap { byDigest[$0] }.sorted { $0.size > $1.size }
    }
}
