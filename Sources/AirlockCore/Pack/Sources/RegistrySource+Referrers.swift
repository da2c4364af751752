import Foundation
import OCI
import Registry

extension RegistrySource {
    /// Carries the artifacts that refer to `subject` (signatures, attestations, SBOMs): those the
    /// OCI 1.1 referrers API lists, or else the referrers tag schema's `sha256-<hex>` index, plus
    /// cosign's `sha256-<hex>.sig|.att|.sbom` tags. Tags keep their names under the image's
    /// repository, so cosign finds them after push; API referrers are carried by digest (a target
    /// registry with the API indexes them by their `subject`), and a fallback index by its tag.
    func addReferrers(
        of subject: Digest,
        client: RegistryClient,
        repository: RepositoryName,
        carriedName: String,
        what: String,
        location: String,
        into contents: inout PackContents
    ) async throws -> ([Fetch], [BundlePredicate.Referrer]) {
        let tag = subject.referrersTag
        var fetches: [Fetch] = []
        var records: [BundlePredicate.Referrer] = []

        func carry(_ descriptor: Descriptor, bytes: [UInt8], ref: String, via: String, contents: inout PackContents) async throws {
            let stored = try storeDocument(bytes, mediaType: descriptor.mediaType, what: "\(what): referrer \(ref)", into: &contents)
            if descriptor.mediaType.isIndex {
                for child in try ContentDocument(bytes: bytes, declaredType: descriptor.mediaType).manifests {
                    fetches += try await walk(
                        child,
                        client: client,
                        repository: repository,
                        what: "\(what): referrer \(ref)",
                        into: &contents,
                        depth: 1
                    )
                }
            } else {
                fetches += try await blobs(
                    of: bytes,
                    mediaType: descriptor.mediaType,
                    host: client.host,
                    repository: repository,
                    what: "\(what): referrer \(ref)",
                    into: &contents
                )
            }
            var tagged = stored
            tagged.artifactType = descriptor.artifactType
            if !contents.tagged.contains(where: { $0.refName == ref }) {
                try contents.tag(tagged, refName: ref, kind: .referrer, location: location)
            }
            records.append(
                .init(
                    subject: subject,
                    digest: stored.digest,
                    mediaType: descriptor.mediaType,
                    artifactType: descriptor.artifactType,
                    ref: ref,
                    via: via
                )
            )
        }

        var listed: [Descriptor] = []
        var via = "referrers-api"
        if let index = try await client.fetchReferrers(repository, digest: subject) {
            listed = try ContentDocument(bytes: index, declaredType: MediaType.ociIndex).manifests
        } else if let fallback = try await client.fetchManifestIfPresent(repository, reference: .tag(tag)),
            fallback.documentType.isIndex
        {
            // The referrers tag schema: an index of referrers under the tag sha256-<hex>.
            via = "referrers-tag"
            listed = try ContentDocument(bytes: fallback.bytes, declaredType: MediaType.ociIndex).manifests
            let descriptor = Descriptor(
                mediaType: MediaType.ociIndex,
                digest: fallback.digest,
                size: Int64(fallback.bytes.count)
            )
            try await carry(descriptor, bytes: fallback.bytes, ref: "\(carriedName):\(tag)", via: via, contents: &contents)
        }
        for descriptor in listed {
            let fetched = try await client.fetchManifest(repository, reference: .digest(descriptor.digest))
            try await carry(descriptor, bytes: fetched.bytes, ref: "\(carriedName)@\(descriptor.digest)", via: via, contents: &contents)
        }
        for suffix in ["sig", "att", "sbom"] {
            guard let fetched = try await client.fetchManifestIfPresent(repository, reference: .tag("\(tag).\(suffix)")) else { continue }
            let mediaType = fetched.documentType
            let descriptor = Descriptor(mediaType: mediaType, digest: fetched.digest, size: Int64(fetched.bytes.count))
            try await carry(
                descriptor,
                bytes: fetched.bytes,
                ref: "\(carriedName):\(tag).\(suffix)",
                via: "cosign-tag",
                contents: &contents
            )
        }
        return (fetches, records)
    }
}
