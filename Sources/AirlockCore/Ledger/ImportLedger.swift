import Foundation
import Hashing
import HelmTemplate
import NIOCore
import OCI
import Registry
import Signing

/// What the private registry remembers of every import: each push records the bundle's signed
/// envelope, unchanged (so its signature still verifies), as an OCI artifact in a ledger
/// repository of the target (`PREFIX/airlock/imports`), tagged by bundle name and version and
/// annotated with when it was pushed. Written last, after every tag, so an entry means a complete
/// import. Before sending anything, push reads the ledger to refuse rollbacks (a lower version of
/// a bundle already imported) and replacements (the same version with other content).
struct ImportLedger: Sendable {
    static let artifactType: MediaType = "application/vnd.airlock.import.v1+json"
    static let pushedAnnotation = "org.opencontainers.image.created"

    let client: RegistryClient
    let repository: RepositoryName
    let policy: SignaturePolicy

    /// One recorded import.
    struct Entry: Sendable {
        var tag: String
        var name: String
        var version: String
        var created: String
        var pushedAt: String
        /// sha256 of the signed statement (the envelope's payload).
        var statementDigest: String
        var signers: [String]
        var images: Int
        var charts: Int
        /// The envelope's signature checked out with the trusted keys.
        var verified: Bool
        /// Why not, when it did not.
        var failure: String?
        /// The statement, when the signature checked out.
        var statement: Statement?
    }

    /// The ledger's repository for a push target: `PREFIX/airlock/imports`, or `--ledger REPO`
    /// under the prefix.
    static func repository(target: PushTarget, explicit: String?) throws -> RepositoryName {
        try target.repository(for: explicit ?? "airlock/imports")
    }

    /// Every entry, oldest first (by the time it was pushed). An entry whose signature does not
    /// verify is returned with `verified: false` and never trusted by the checks.
    func entries() async throws -> [Entry] {
        let tags: [String]
        do {
            tags = try await client.listTags(repository)
        } catch RegistryError.status(_, _, 404, _) {
            return []
        }
        var entries: [Entry] = []
        for tag in tags.sorted() {
            guard let manifest = try await client.fetchManifestIfPresent(repository, reference: try ManifestReference(tag)),
                let object = try? JSONSerialization.jsonObject(with: Data(manifest.bytes)) as? [String: Any],
                object["artifactType"] as? String == Self.artifactType.rawValue,
                let layer = (object["layers"] as? [[String: Any]])?.first,
                let digest = (layer["digest"] as? String).flatMap({ try? Digest($0) })
            else { continue }
            let pushedAt = (object["annotations"] as? [String: String])?[Self.pushedAnnotation] ?? ""
            let envelope = try await client.fetchSmallBlob(repository, digest: digest)
            entries.append(read(envelope: envelope, tag: tag, pushedAt: pushedAt))
        }
        return entries.sorted { ($0.pushedAt, $0.tag) < ($1.pushedAt, $1.tag) }
    }

    /// An entry from an envelope: its statement read, its signature checked with the policy.
    func read(envelope: [UInt8], tag: String, pushedAt: String) -> Entry {
        var entry = Entry(
            tag: tag,
            name: "",
            version: "",
            created: "",
            pushedAt: pushedAt,
            statementDigest: "",
            signers: [],
            images: 0,
            charts: 0,
            verified: false,
            failure: nil
        )
        if let parsed = try? JSONDecoder().decode(DSSEEnvelope.self, from: Data(envelope)), let payload = try? parsed.payloadBytes() {
            entry.statementDigest = Digest.sha256(of: payload).description
            entry.signers = parsed.signatures.map(\.keyid)
            if let statement = try? JSONDecoder().decode(Statement.self, from: Data(payload)) {
                (entry.name, entry.version, entry.created) = (
                    statement.predicate.name, statement.predicate.version, statement.predicate.created
                )
                (entry.images, entry.charts) = (statement.predicate.images.count, statement.predicate.charts.count)
            }
        }
        var report = VerificationReport(bundle: "\(repository):\(tag)")
        do {
            entry.statement = try VerificationPass(path: "\(repository):\(tag)", policy: policy, receiver: nil).checkStatementBytes(
                envelope,
                report: &report
            )
            entry.verified = true
        } catch let failure as CheckFailure {
            entry.failure = failure.message
        } catch {
            entry.failure = "\(error)"
        }
        return entry
    }

    /// Refuses a rollback (the same bundle name imported before at a higher version) or a
    /// replacement (the same version with other images or charts) unless allowed; entries that
    /// do not verify are reported and ignored. Returns the warnings, and whether this delivery is
    /// recorded already.
    func check(_ statement: Statement, allowDowngrade: Bool, allowReplace: Bool) async throws -> (warnings: [String], recorded: Bool) {
        let name = statement.predicate.name
        var warnings: [String] = []
        var recorded = false
        for entry in try await entries() {
            guard entry.verified else {
                warnings.append(
                    """
                    ledger entry \(repository):\(entry.tag) does not verify with the trusted keys (\(entry.failure ?? "?")): \
                    reported, not trusted
                    """
                )
                continue
            }
            guard entry.name == name else { continue }
            // The same version: the same content again (a re-pack, or a delta) is no
            // replacement, and is recorded already.
            if entry.version == statement.predicate.version {
                let same = entry.statement.map { Self.contents($0) == Self.contents(statement) } ?? false
                if !same, !allowReplace {
                    throw AuditError.replacement(
                        name: name,
                        version: entry.version,
                        host: client.host,
                        pushedAt: entry.pushedAt,
                        statement: entry.statementDigest
                    )
                }
                if same, entry.tag == Self.tag(name: name, version: statement.predicate.version) { recorded = true }
                continue
            }
            let order = Self.compare(entry.version, entry.created, statement.predicate.version, statement.predicate.created)
            if order == .orderedDescending, !allowDowngrade {
                throw AuditError.rollback(
                    name: name,
                    imported: entry.version,
                    host: client.host,
                    pushedAt: entry.pushedAt,
                    version: statement.predicate.version
                )
            }
        }
        return (warnings, recorded)
    }

    /// What an import puts in the registry: every image by its manifest's digest, every chart by
    /// its archive's (its OCI manifest carries the time it was packed). Two statements with the
    /// same are the same delivery.
    static func contents(_ statement: Statement) -> [String] {
        (statement.predicate.images.map { "image \($0.name)@\($0.digest)" }
            + statement.predicate.charts.map { "chart \($0.name):\($0.version)@\($0.chartDigest)" }).sorted()
    }

    /// Semantic-version order, the statement's `created` breaking ties (and standing in when a
    /// version is not one).
    static func compare(_ versionA: String, _ createdA: String, _ versionB: String, _ createdB: String) -> ComparisonResult {
        if let a = SemanticVersion(lenient: versionA), let b = SemanticVersion(lenient: versionB), a != b {
            return a < b ? .orderedAscending : .orderedDescending
        }
        if versionA == versionB || (SemanticVersion(lenient: versionA) != nil && SemanticVersion(lenient: versionB) != nil) {
            return createdA == createdB ? .orderedSame : (createdA < createdB ? .orderedAscending : .orderedDescending)
        }
        return versionA < versionB ? .orderedAscending : .orderedDescending
    }

    /// Records an import: the envelope as the artifact's layer, an empty config, tagged
    /// `NAME-VERSION`.
    func record(envelope: [UInt8], statement: Statement, pushedAt: String) async throws -> String {
        let config: [UInt8] = Array("{}".utf8)
        let configDigest = Digest.sha256(of: config)
        let envelopeDigest = Digest.sha256(of: envelope)
        for (digest, bytes) in [(configDigest, config), (envelopeDigest, envelope)]
        where try await !client.blobExists(repository, digest: digest) {
            try await client.uploadBlob(repository, digest: digest, size: Int64(bytes.count)) { BytesSource(bytes: bytes) }
        }
        let manifest: [String: Any] = [
            "schemaVersion": 2, "mediaType": MediaType.ociManifest.rawValue, "artifactType": Self.artifactType.rawValue,
            "config": ["mediaType": MediaType.ociEmpty.rawValue, "digest": configDigest.description, "size": config.count],
            "layers": [["mediaType": MediaType.dsseEnvelope.rawValue, "digest": envelopeDigest.description, "size": envelope.count]],
            "annotations": [
                Self.pushedAnnotation: pushedAt, "dev.airlock.bundle.name": statement.predicate.name,
                "dev.airlock.bundle.version": statement.predicate.version,
            ],
        ]
        let bytes = Array(try JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys, .withoutEscapingSlashes]))
        let tag = Self.tag(name: statement.predicate.name, version: statement.predicate.version)
        try await client.putManifest(repository, reference: try ManifestReference(tag), mediaType: MediaType.ociManifest, bytes: bytes)
        return tag
    }

    /// The time of an import, to the millisecond (imports follow each other quickly in scripts).
    static func now() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date())
    }

    /// `NAME-VERSION` in the tag alphabet (`[A-Za-z0-9_.-]`, at most 128 characters).
    static func tag(name: String, version: String) -> String {
        let raw = "\(name)-\(version)"
        let mapped = String(raw.map { $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) ? $0 : "_" })
        let trimmed = mapped.first.map { $0 == "." || $0 == "-" ? "_" + mapped.dropFirst() : mapped } ?? "import"
        return String(trimmed.prefix(128))
    }
}

/// Bytes in memory as an upload body, checked by the registry's own digest check.
struct BytesSource: ByteChunkSource {
    let bytes: [UInt8]
    private let handed = HandedOnce()

    init(bytes: [UInt8]) { self.bytes = bytes }

    func nextChunk() async throws -> ByteBuffer? {
        await handed.take() ? ByteBuffer(bytes: bytes) : nil
    }
}

actor HandedOnce {
    private var done = false
    func take() -> Bool {
        defer { done = true }
        return !done
    }
}
