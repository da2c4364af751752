import Foundation
import Hashing
import OCI
import Registry
import Signing

/// Blobs: uploaded once into the first repository that needs them and mounted into the others;
/// a delta bundle's left-out layers found in the registry or mounted from where they are.
extension Pusher {
    /// Carries out a blob's placements: present ones are counted, mounts are asked for (a mount
    /// the registry declines becomes an upload, or, for a left-out layer, a refusal), uploads
    /// stream the blob from the bundle.
    func execute(_ blob: PushPlan.BlobPlan, source: any PushSource, client: RegistryClient, tally: PushTally) async throws {
        let work = blob.work
        for placement in blob.placements {
            switch placement.step {
            case .present:
                await tally.count(.present, bytes: 0)
                progress(.blob(digest: work.digest.description, outcome: .present, bytes: 0))
            case .mount(let home):
                if try await client.mountBlob(placement.repository, digest: work.digest, from: home) {
                    await tally.count(.mounted, bytes: 0)
                    progress(.blob(digest: work.digest.description, outcome: .mounted, bytes: 0))
                } else if blob.leftOut, let base = source.statement.predicate.base {
                    throw leftOutMissing(work, base: base)
                } else {
                    try await upload(work, to: placement.repository, source: source, client: client, tally: tally)
                }
            case .upload:
                try await upload(work, to: placement.repository, source: source, client: client, tally: tally)
            }
        }
    }

    private func upload(
        _ work: BlobWork,
        to repository: RepositoryName,
        source: any PushSource,
        client: RegistryClient,
        tally: PushTally
    )
        async throws
    {
        let path = BundleFormat.blobEntry(work.digest)
        do {
            try await client.uploadBlob(repository, digest: work.digest, size: work.size, chunkSize: options.chunkSize) {
                try source.chunks(of: path)
            }
        } catch RegistryError.digestMismatch(_, _, let actual) {
            throw PushError.blobAltered(owner: work.owner, digest: work.digest.description, actual: actual)
        }
        await tally.count(.uploaded, bytes: work.size)
        await tally.uploaded(work.digest.description)
        progress(.blob(digest: work.digest.description, outcome: .uploaded, bytes: work.size))
    }

    /// Whether the repository has the blob. A registry that keeps answering the check with a 5xx
    /// (after the client's retries) gets the blob uploaded again: docker-registry does so for a
    /// blob whose link file a crash left empty, and the upload rewrites the link; a registry that
    /// is really down fails the upload instead, with its own message.
    func isPresent(_ digest: Digest, in repository: RepositoryName, client: RegistryClient) async throws -> Bool {
        do {
            return try await client.blobExists(repository, digest: digest)
        } catch RegistryError.status(_, _, let status, _) where status >= 500 {
            return false
        }
    }
}
