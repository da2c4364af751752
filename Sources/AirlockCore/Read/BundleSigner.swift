import BundleIO
import Foundation
import Signing

/// Adds a signature to an existing bundle without recompressing its content: the statement frame
/// is rewritten, every other frame is copied byte for byte, and the seek index is rebuilt. A split
/// bundle stays split, in parts of the size it had.
public struct BundleSigner {
    public let bundle: String
    public let key: PrivateKey

    public init(bundle: String, key: PrivateKey) {
        self.bundle = bundle
        self.key = key
    }

    public struct Result: Sendable {
        public let signerKeyIDs: [String]
        public let detachedPath: String
        public let sha256: String
    }

    public func sign() throws -> Result {
        // Sign only what checks out: every digest must match the statement (signatures aside).
        let report = try Verifier(path: bundle, policy: .ignore).run()
        guard report.verified else { throw ReadError.refusingToSign(why: report.failure ?? "verification failed") }

        let source = try BundleFile.open(bundle)
        let index = try SeekIndex.read(from: source)
        let access = try BundleRandomAccess(path: bundle, policy: .ignore)
        let reader = try TarReader(file: source, input: .zstdTar)
        _ = try reader.next()
        var envelope = try JSONDecoder().decode(DSSEEnvelope.self, from: Data(try reader.readAll(limit: BundleFormat.statementLimit)))
        reader.close()
        try envelope.sign(with: key)

        let created = parseRFC3339(access.statement.predicate.created) ?? 0
        // One part: the new statement may not fit the old size, so the part takes what it needs.
        let partSize = !source.isSplit ? nil : source.parts.count > 1 ? source.parts[0].size : Int64(1) << 62
        let writer = try BundleWriter(destination: source.path, modificationTime: created, partSize: partSize)
        let summary: BundleWriter.Summary
        do {
            let bytes = try encodeEnvelope(envelope)
            try writer.addEntry(path: BundleFormat.statementPath, size: Int64(bytes.count), compression: .compress) { try $0.write(bytes) }
            try writer.copyFrames(index.entries.dropFirst(), from: source)
            summary = try writer.finish()
        } catch {
            writer.abandon()
            throw error
        }
        let detached = source.path + ".intoto.json"
        // The file changed, so the detached copy is issued anew, signed by this key.
        try writeDetachedEnvelope(statement: access.statement, bundle: summary, keys: [key], to: detached)
        return Result(signerKeyIDs: envelope.signatures.map(\.keyid), detachedPath: detached, sha256: summary.sha256)
    }
}
