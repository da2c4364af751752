import Foundation
import Hashing
import OCI
import Registry
import Signing

/// Blobs: uploaded once into the first repository that needs them and mounted into the others;
/// a delta bundle's left-out layers found in the registry or mounted from where they are.
extension Pusher {
    /// One blob into every repository that needs it: present → skip; already sent to another
    /// repository in this push → mount; otherwise stream it from the bundle.
    func pushBlob(_ work: BlobWork, source: any PushSource, client: RegistryClient, tally: PushTally) async throws {
        var home: String?
        for repository in work.repositories {
            if try await isPresent(work.digest, in: repository, client: client) {
                await tally.count(.present, bytes: 0)
                progress(.blob(digest: work.digest, outcome: .present, bytes: 0))
                home = home ?? repository
                continue
            }
            if let home, try await client.mountBlob(repository, digest: work.digest, from: home) {
                await tally.count(.mounted, bytes: 0)
                progress(.blob(digest: work.digest, outcome: .mounted, bytes: 0))
                continue
            }
            let path = try BundleFormat.blobEntry(work.digest)
            do {
                try await client.uploadBlob(repository, digest: work.digest, size: work.size, chunkSize: options.chunkSize) {
                    try source.chunks(of: path)
                }
            } catch RegistryError.digestMismatch(_, _, let actual) {
                throw AirlockError.verification(
                    """
                    \(work.owner): blob \(work.digest) does not match its signed digest (got \(actual)): tampered or corrupted; it \
                    was not committed and no manifest was pushed
                    """
                )
            }
            await tally.count(.uploaded, bytes: work.size)
            await tally.uploaded(work.digest)
            progress(.blob(digest: work.digest, outcome: .uploaded, bytes: work.size))
            home = home ?? repository
        }
    }

    /// A layer a delta bundle leaves out: present in each repository that needs it, or mounted
    /// there from a repository of this push that has it (where the earlier bundle's images went)
    /// or from the repository the inventory it was packed against listed it in.
    func placeLeftOutBlob(
        _ work: BlobWork,
        base: BundlePredicate.Base,
        candidates: [String],
        client: RegistryClient,
        tally: PushTally,
        dryRun: Bool = false
    ) async throws {
        let listed = base.blobs.first { $0.digest == work.digest }?.repository
        let candidates = candidates + (listed.map { [$0] } ?? [])
        var home: String?
        for repository in work.repositories {
            if try await client.blobExists(repository, digest: work.digest) {
                await tally.count(.present, bytes: 0)
                progress(.blob(digest: work.digest, outcome: .present, bytes: 0))
                home = home ?? repository
                continue
            }
            if home == nil {
                for candidate in candidates where candidate != repository {
                    if try await client.blobExists(candidate, digest: work.digest) { home = candidate; break }
                }
            }
            let mounted: Bool
            if let home {
                mounted = try await dryRun ? true : client.mountBlob(repository, digest: work.digest, from: home)
            } else {
                mounted = false
            }
            guard mounted else {
                if let registry = base.registry {
                    throw AirlockError.input(
                        """
                        \(work.owner): layer \(work.digest) is left out of this delta bundle (\(base.title) listed \
                        it\(listed.map { " in \($0)" } ?? "")) and \(options.target) does not have it: push into \(registry), or pack \
                        again against a fresh inventory or without --since; nothing was pushed
                        """
                    )
                }
                throw AirlockError.input(
                    """
                    \(work.owner): layer \(work.digest) is left out of this delta bundle (it builds on \(base.title)) and \
                    \(options.target) does not have it: push \(base.title) there first, give --base with that bundle, or pack without \
                    --since; nothing was pushed
                    """
                )
            }
            await tally.count(.mounted, bytes: 0)
            progress(.blob(digest: work.digest, outcome: .mounted, bytes: 0))
        }
    }

    /// Whether the repository has the blob. A registry that keeps answering the check with a 5xx
    /// (after the client's retries) gets the blob uploaded again: docker-registry does so for a
    /// blob whose link file a crash left empty, and the upload rewrites the link; a registry that
    /// is really down fails the upload instead, with its own message.
    func isPresent(_ digest: String, in repository: String, client: RegistryClient) async throws -> Bool {
        do {
            return try await client.blobExists(repository, digest: digest)
        } catch RegistryError.status(_, _, let status, _) where status >= 500 {
            return false
        }
    }
}
