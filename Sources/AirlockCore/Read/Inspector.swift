import BundleIO
import Foundation
import Signing

/// What `inspect` shows: read from the first frame only, and *not verified*.
public struct InspectReport: Sendable, Codable, BundleContentsListing {
    public var bundle: String
    public var verified = false
    public var formatVersion: Int
    public var predicateType: String
    public var name: String
    public var version: String
    public var created: String
    public var toolVersion: String
    /// Key ids the signatures claim (unchecked).
    public var signerKeyIDs: [String]
    public var entries: Int
    public var bytes: Int64
    public var fileSize: Int64
    /// The files of a split bundle, in order (nil when it is one file).
    public var parts: [Part]?
    public var images: [BundlePredicate.Image]
    public var charts: [BundlePredicate.Chart]
    public var endpoints: [BundlePredicate.Endpoint]
    public var egress: [BundlePredicate.EgressDocument]?
    public var files: [BundlePredicate.File]

    /// One file of a split bundle.
    public struct Part: Sendable, Codable {
        public var path: String
        public var size: Int64
    }

    /// What a delta bundle builds on: that bundle (or registry inventory), and how much it leaves out.
    public var base: Base?

    public struct Base: Sendable, Codable {
        public var name: String
        public var version: String
        public var created: String
        /// The registry an inventory was taken of, for a delta packed against one.
        public var registry: String?
        public var blobs: Int
        public var bytes: Int64
        /// `platform 1.4.1`, or `the inventory of HOST (CREATED)`.
        public var title: String
    }
}

public enum Inspector {
    /// Reads the statement from the bundle's first entry, decompressing nothing beyond it.
    public static func inspect(path: String) throws -> InspectReport {
        let file = try BundleFile.open(path)
        let (envelope, statement) = try readStatement(file)
        let predicate = statement.predicate
        return InspectReport(
            bundle: path,
            formatVersion: predicate.formatVersion,
            predicateType: statement.predicateType,
            name: predicate.name,
            version: predicate.version,
            created: predicate.created,
            toolVersion: predicate.tool.version,
            signerKeyIDs: envelope.signatures.map(\.keyid),
            entries: statement.subject.count + 1,
            bytes: statement.subject.reduce(0) { $0 + ($1.annotations?.size ?? 0) },
            fileSize: file.size,
            parts: file.isSplit ? file.parts.map { .init(path: $0.path, size: $0.size) } : nil,
            images: predicate.images,
            charts: predicate.charts,
            endpoints: predicate.endpoints,
            egress: predicate.egress,
            files: predicate.files,
            base: predicate.base.map {
                .init(
                    name: $0.name,
                    version: $0.version,
                    created: $0.created,
                    registry: $0.registry,
                    blobs: $0.blobs.count,
                    bytes: $0.blobs.reduce(0) { $0 + $1.size },
                    title: $0.title
                )
            }
        )
    }

    /// The statement of the bundle's first entry, unverified.
    static func readStatement(_ file: BundleFile) throws -> (DSSEEnvelope, Statement) {
        let path = file.path
        let reader = try TarReader(file: file, input: .zstdTar)
        defer { reader.close() }
        guard let first = try reader.next(), first.path == BundleFormat.statementPath, first.kind == .regular,
            first.size <= BundleFormat.statementLimit
        else {
            throw ReadError.notABundle(path: path)
        }
        return try parseStatement(try reader.readAll(limit: BundleFormat.statementLimit), from: path)
    }

    /// An envelope's statement, unverified: the bundle's first entry, or a detached envelope.
    static func parseStatement(_ bytes: [UInt8], from path: String) throws -> (DSSEEnvelope, Statement) {
        guard let envelope = try? JSONDecoder().decode(DSSEEnvelope.self, from: Data(bytes)),
            let payload = try? envelope.payloadBytes(),
            let statement = try? JSONDecoder().decode(Statement.self, from: Data(payload))
        else {
            throw ReadError.statementUnparseable(path: path)
        }
        guard statement.predicateType == BundleFormat.predicateType, statement.predicate.formatVersion == BundleFormat.version else {
            throw ReadError.unsupportedFormat(version: statement.predicate.formatVersion)
        }
        return (envelope, statement)
    }
}
