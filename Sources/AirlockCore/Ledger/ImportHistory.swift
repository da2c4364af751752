import Foundation
import Registry
import Signing

/// `airlock history`: the imports a registry's ledger records, oldest first, each envelope's
/// signature checked with the trusted keys.
public enum ImportHistory {
    public struct Report: Sendable, Codable {
        public var registry: String
        public var ledger: String
        public var imports: [Import]
    }

    public struct Import: Sendable, Codable {
        public var pushedAt: String
        public var name: String
        public var version: String
        public var created: String
        public var statementDigest: String
        public var signers: [String]
        public var images: Int
        public var charts: Int
        public var verified: Bool
        public var failure: String?
        public var tag: String
    }

    public static func read(
        registry: String,
        ledger explicit: String?,
        policy: SignaturePolicy,
        transport: TransportOptions
    ) async throws -> Report {
        let target = try PushTarget(registry)
        let client = try RegistryClient(host: target.host, options: transport)
        return try await withShutdown(client.shutdown) {
            let ledger = ImportLedger(
                client: client,
                repository: try ImportLedger.repository(target: target, explicit: explicit),
                policy: policy
            )
            let imports = try await ledger.entries().map { entry in
                Import(
                    pushedAt: entry.pushedAt,
                    name: entry.name,
                    version: entry.version,
                    created: entry.created,
                    statementDigest: entry.statementDigest,
                    signers: entry.signers,
                    images: entry.images,
                    charts: entry.charts,
                    verified: entry.verified,
                    failure: entry.failure,
                    tag: entry.tag
                )
            }
            return Report(registry: registry, ledger: "\(target.host)/\(ledger.repository)", imports: imports)
        }
    }
}
