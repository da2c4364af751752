import Foundation
import OCI
import Registry

extension RegistrySource {
    /// An artifact found referring to an image: its descriptor and bytes, its ref name in the
    /// bundle's layout, and how it was found (`referrers-api`, `referrers-tag`, `cosign-tag`).
    struct FoundReferrer {
        var descriptor: Descriptor
        var bytes: [UInt8]
        var ref: String
        var via: String
    }

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
        var fetches: [Fetch] = []
        var records: [BundlePredicate.Referrer] = []
        for found in try await findReferrers(of: subject, client: client, repository: repository, carriedName: carriedName) {
            let what = "\(what): referrer \(found.ref)"
            let stored = try storeDocument(found.bytes, mediaType: found.descriptor.mediaType, what: what, into: &contents)
            if found.descriptor.mediaType.isIndex {
                for child in try ContentDocument(bytes: found.bytes, declaredType: found.descriptor.mediaType).manifests {
                    fetches += try await walk(child, client: client, repository: repository, what: what, into: &contents, depth: 1)
                }
            } else {
                fetches += try await blobs(
                    of: found.bytes,
                    mediaType: found.descriptor.mediaType,
                    host: client.host,
                    repository: repository,
                    what: what,
                    into: &contents
                )
            }
            var tagged = stored
            tagged.artifactType = found.descriptor.artifactType
            if !contents.tagged.contains(where: { $0.refName == found.ref }) {
                try contents.tag(tagged, refName: found.ref, kind: .referrer, location: location)
            }
            records.append(
                .init(
                    subject: subject,
                    digest: stored.digest,
                    mediaType: found.descriptor.mediaType,
                    artifactType: found.descriptor.artifactType,
                    ref: found.ref,
                    via: found.via
                )
            )
        }
        return (fetches, records)
    }

    /// The referrers of `subject`, in the order they are carried: the referrers API's list (or
    /// else the referrers tag schema's index, then what it lists), then cosign's tags.
    private func findReferrers(
        of subject: Digest,
        client: RegistryClient,
        repository: RepositoryName,
        carriedName: String
    ) async throws -> [FoundReferrer] {
        let tag = subject.referrersTag
        var found: [FoundReferrer] = []
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
            let descriptor = Descriptor(mediaType: MediaType.ociIndex, digest: fallback.digest, size: Int64(fallback.bytes.count))
            found.append(FoundReferrer(descriptor: descriptor, bytes: fallback.bytes, ref: "\(carriedName):\(tag)", via: via))
        }
        for descriptor in listed {
            let fetched = try await client.fetchManifest(repository, reference: .digest(descriptor.digest))
            found.append(FoundReferrer(descriptor: descriptor, bytes: fetched.bytes, ref: "\(carriedName)@\(descriptor.digest)", via: via))
        }
        for suffix in ["sig", "att", "sbom"] {
            guard let fetched = try await client.fetchManifestIfPresent(repository, reference: .tag("\(tag).\(suffix)")) else { continue }
            let descriptor = Descriptor(mediaType: fetched.documentType, digest: fetched.digest, size: Int64(fetched.bytes.count))
            found.append(
                FoundReferrer(descriptor: descriptor, bytes: fetched.bytes, ref: "\(carriedName):\(tag).\(suffix)", via: "cosign-tag")
            )
        }
        return found
    }
}
