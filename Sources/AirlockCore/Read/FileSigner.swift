import BundleIO
import Foundation
import Hashing
import Signing

/// A detached envelope for any file (a release archive, say), in the same form as a bundle's: a
/// DSSE envelope over an in-toto statement whose first subject is the file (name, sha256, size).
/// `airlock verify FILE --detached --envelope ENVELOPE --key KEY.pub` checks it, and so do
/// openssl and sha256sum (the stock-tool recipe).
public enum FileSigner {
    public struct Result: Sendable, Codable {
        public let file: String
        public let envelope: String
        public let sha256: String
        public let size: Int64
        public let signerKeyIDs: [String]
    }

    public static func sign(
        file path: String,
        name: String,
        version: String,
        keys: [PrivateKey],
        created: Int64,
        envelope: String
    ) throws -> Result {
        let input = try FileDescriptor.openForReading(path)
        let hasher = SHA256Hasher()
        var size: Int64 = 0
        try input.forEachChunk { chunk in
            hasher.update(chunk)
            size += Int64(chunk.count)
        }
        let sha256 = hasher.finalizeHex()
        let fileName = URL(fileURLWithPath: path).lastPathComponent
        let predicate = BundlePredicate(
            formatVersion: BundleFormat.version,
            name: name,
            version: version,
            created: formatRFC3339(created),
            tool: .init(name: "airlock", version: BundleFormat.toolVersion),
            images: [],
            charts: [],
            endpoints: [],
            files: [.init(path: fileName, source: fileName, size: size)],
            base: nil
        )
        let statement = Statement(subject: [Statement.Subject(name: fileName, sha256: sha256, size: size)], predicate: predicate)
        var signed = DSSEEnvelope(payload: try statement.encoded())
        for key in keys { try signed.sign(with: key) }
        try writeAtomically(try encodeEnvelope(signed), to: envelope)
        return Result(file: path, envelope: envelope, sha256: sha256, size: size, signerKeyIDs: signed.signatures.map(\.keyid))
    }
}
