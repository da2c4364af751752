import BundleIO
import Foundation
import OCI

/// What `pack --since` leaves out: the blobs an earlier bundle carried, read from that bundle's
/// statement (the bundle itself, its parts, or its detached envelope, which lists the same
/// entries), or the blobs a registry inventory (`airlock inventory`) lists. Neither is verified
/// here, since what it says only decides what is left out: a push of the delta checks that the
/// registry has each such blob before any manifest goes, and everything the delta carries is
/// signed as usual.
struct DeltaBase: Sendable {
    let name: String
    let version: String
    let created: String
    /// The registry an inventory was taken of; nil for an earlier bundle.
    var registry: String?
    /// Digest → size of the blobs the earlier bundle carried (or the registry holds).
    let blobs: [Digest: Int64]
    /// Digest → a repository holding it, from an inventory.
    var repositories: [Digest: String] = [:]

    static func load(_ path: String) throws -> DeltaBase {
        do {
            if let inventory = try RegistryInventory.loadIfInventory(path) {
                return DeltaBase(
                    name: inventory.registry,
                    version: "inventory",
                    created: inventory.created,
                    registry: inventory.registry,
                    blobs: Dictionary(
                        try inventory.blobs.map { (try Digest($0.digest), $0.size) },
                        uniquingKeysWith: { first, _ in first }
                    ),
                    repositories: Dictionary(
                        try inventory.blobs.map { (try Digest($0.digest), $0.repository) },
                        uniquingKeysWith: { first, _ in first }
                    )
                )
            }
            let earlier = try SignedStatement.load(path, policy: nil)
            let predicate = earlier.statement.predicate
            return DeltaBase(name: predicate.name, version: predicate.version, created: predicate.created, blobs: earlier.blobs)
        } catch let error as AuditError {
            throw PackError.since("\(error)")
        } catch let error as ReadError where !error.isCheckFailure {
            throw PackError.since("\(error)")
        }
    }

    /// Splits `entries` into those the delta carries and the layers it leaves out.
    func split(_ entries: [Packer.PlannedEntry]) -> (kept: [Packer.PlannedEntry], left: [Packer.PlannedEntry]) {
        var kept: [Packer.PlannedEntry] = []
        var left: [Packer.PlannedEntry] = []
        for entry in entries {
            if entry.group == .layers, blobs[entry.digest] == entry.size {
                left.append(entry)
            } else {
                kept.append(entry)
            }
        }
        return (kept, left)
    }

    func predicate(leaving left: [Packer.PlannedEntry]) -> BundlePredicate.Base {
        BundlePredicate.Base(
            name: name,
            version: version,
            created: created,
            registry: registry,
            blobs: left.map { .init(digest: $0.digest, size: $0.size, repository: repositories[$0.digest]) }
                .sorted { $0.digest < $1.digest }
        )
    }
}
