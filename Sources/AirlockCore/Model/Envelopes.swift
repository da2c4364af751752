import BundleIO
import Foundation
import OCI
import Signing

/// Writes the detached envelope beside a bundle: the same predicate, with the bundle file itself
/// as the first subject, so a gate can check the file before opening it.
func writeDetachedEnvelope(statement: Statement, bundle: BundleWriter.Summary, keys: [PrivateKey], to path: String) throws {
    var detached = statement
    let name = URL(fileURLWithPath: bundle.path).lastPathComponent
    var files = [Statement.Subject(name: name, sha256: bundle.sha256, size: bundle.size)]
    if !bundle.parts.isEmpty { files[0].annotations?.parts = bundle.parts.count }
    var offset: Int64 = 0
    for (number, part) in bundle.parts.enumerated() {
        var subject = Statement.Subject(name: URL(fileURLWithPath: part.path).lastPathComponent, sha256: part.sha256, size: nil)
        subject.annotations = .init(size: part.size, parts: bundle.parts.count, part: number + 1, offset: offset)
        files.append(subject)
        offset += part.size
    }
    detached.subject.insert(contentsOf: files, at: 0)
    var envelope = DSSEEnvelope(payload: try detached.encoded())
    for key in keys { try envelope.sign(with: key) }
    try writeAtomically(try encodeEnvelope(envelope), to: path)
}

/// Envelope JSON as stored: sorted keys, newline-terminated.
func encodeEnvelope(_ envelope: DSSEEnvelope) throws -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    return Array(try encoder.encode(envelope)) + [0x0a]
}

/// A Sigstore bundle (v0.3) as far as airlock reads it: the DSSE envelope it carries, if any.
struct SigstoreBundle<Envelope: Decodable>: Decodable {
    var dsseEnvelope: Envelope?
}

/// The sha256 digests an in-toto statement's subjects name (`digest: {sha256: HEX}`); others are
/// skipped.
func sha256Subjects(_ digests: [[String: String]]) -> [Digest] {
    digests.compactMap { $0["sha256"].flatMap { try? Digest(sha256Hex: $0) } }
}
