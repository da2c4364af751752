import Foundation

/// Why an audit, an inventory or a ledger check could not be done, or refused a push: each case
/// with its context, worded once.
public enum AuditError: Error, Sendable, CustomStringConvertible {
    case nothingToAuditAgainst
    case noVerifiedImports(registry: String, ledger: String)
    case notAPodList(source: String, detail: String)
    case noDigestYet(source: String, container: String, imageID: String)
    case noDigest(source: String, line: Int, token: String)
    case inventoryVersion(path: String, apiVersion: String)
    case inventoryBlob(path: String, digest: String, size: Int64)
    case inventoryUnparseable(path: String, detail: String)
    case noSuchRepository(host: String, repository: String, registry: String)
    case badManifest(reference: String, detail: String)
    /// The ledger holds the same name and version with other content (`--allow-replace`).
    case replacement(name: String, version: String, host: String, pushedAt: String, statement: String)
    /// The ledger holds a higher version of the name (`--allow-downgrade`).
    case rollback(name: String, imported: String, host: String, pushedAt: String, version: String)

    public var description: String {
        switch self {
        case .nothingToAuditAgainst:
            return "name the signed bundles (or their .intoto.json envelopes) to audit against, or --registry with an import ledger"
        case .noVerifiedImports(let registry, let ledger):
            return """
                \(registry) has no verified import in its ledger (\(ledger)); name the signed bundles or envelopes to audit \
                against
                """
        case .notAPodList(let source, let detail):
            return "\(source) is JSON but not kubectl's pod list (kubectl get pods -A -o json): \(detail)"
        case .noDigestYet(let source, let container, let imageID):
            return "\(source): \(container) reports no image digest yet (imageID \"\(imageID)\"): audit once it runs"
        case .noDigest(let source, let line, let token):
            return "\(source):\(line): \"\(token)\" has no sha256 digest (list the pods' imageID, which has one)"
        case .inventoryVersion(let path, let apiVersion):
            return "\(path) is an inventory of apiVersion \(apiVersion), which this airlock does not read (it reads airlock/v1)"
        case .inventoryBlob(let path, let digest, let size):
            return """
                \(path) lists a blob "\(digest)" of \(size) bytes, which is not a sha256 digest and size: is it from airlock \
                inventory?
                """
        case .inventoryUnparseable(let path, let detail): return "\(path) says it is a RegistryInventory but does not parse: \(detail)"
        case .noSuchRepository(let host, let repository, let registry):
            return "\(host) has no repository \(repository): check --repository (names are paths under \(registry))"
        case .badManifest(let reference, let detail): return "\(reference): \(detail)"
        case .replacement(let name, let version, let host, let pushedAt, let statement):
            return """
                refusing a replacement: \(name) \(version) was imported into \(host) on \(pushedAt) with other images or charts \
                (statement \(statement)); nothing was sent (--allow-replace to push it anyway)
                """
        case .rollback(let name, let imported, let host, let pushedAt, let version):
            return """
                refusing a rollback: \(name) \(imported) was imported into \(host) on \(pushedAt), and this bundle is \(name) \
                \(version); nothing was sent (--allow-downgrade to push it anyway)
                """
        }
    }

    /// A refusal by the ledger (exit 1) rather than a mistake in what was asked (exit 2).
    public var isCheckFailure: Bool {
        switch self {
        case .replacement, .rollback: return true
        default: return false
        }
    }
}
