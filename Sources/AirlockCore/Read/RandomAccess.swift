import BundleIO
import Foundation
import Hashing

/// Reads single entries through the seek index, without decompressing what precedes them. The
/// index is not trusted: the statement read through it must carry a trusted signature, and every
/// entry read is checked against the statement's digest and size before it is handed out.
public final class BundleRandomAccess {
    private let frames: FrameReader
    public let statement: Statement
    /// The bundle's bytes (its parts, when split).
    public var file: BundleFile { frames.file }
    public var index: SeekIndex { frames.index }
    /// The bundle carries no signature (the policy allowed that).
    public let unsigned: Bool
    /// The signed envelope (the bundle's first entry) exactly as stored.
    public let envelope: [UInt8]
    private let subjects: [String: Statement.Subject]

    public init(path: String, policy: SignaturePolicy) throws {
        frames = try FrameReader(path: path)
        guard let first = frames.index.entries.first, first.path == BundleFormat.statementPath,
            first.size <= BundleFormat.statementLimit
        else {
            throw ReadError.seekIndexWithoutStatement
        }
        var bytes: [UInt8] = []
        try frames.read(first) { bytes.append(contentsOf: $0) }
        var report = VerificationReport(bundle: path)
        let pass = VerificationPass(path: path, policy: policy, receiver: nil)
        do {
            statement = try pass.checkStatementBytes(bytes, report: &report)
        } catch let failure as CheckFailure {
            throw ReadError.statement(failure.message)
        }
        unsigned = report.unsigned
        subjects = statement.subjectsByName
        envelope = bytes
    }

    /// Streams the verified bytes of `path` into `destination` (written beside it and renamed
    /// into place only if the digest matches).
    public func extract(_ path: String, to destination: String) throws {
        guard let subject = subjects[path], let sha256 = subject.sha256, let size = subject.annotations?.size else {
            throw ReadError.noSuchEntry(path: path)
        }
        guard let entry = frames.entry(path), entry.size == size else {
            throw ReadError.noFrame(entry: path)
        }
        let temporary = partialPath(for: destination)
        unlink(temporary)
        let output = try FileDescriptor.create(temporary)
        defer { unlink(temporary) }
        let hasher = SHA256Hasher()
        var count: Int64 = 0
        do {
            try frames.read(entry) { chunk in
                count += Int64(chunk.count)
                hasher.update(chunk)
                try output.writeAll(chunk)
            }
        } catch let error as BundleIOError {
            throw ReadError.entryUnreadable(entry: path, detail: "\(error)")
        }
        guard count == size, hasher.finalizeHex() == sha256 else {
            throw ReadError.entryDiffers(entry: path)
        }
        try output.close()
        guard rename(temporary, destination) == 0 else {
            throw AirlockError.io("cannot write \(destination): \(String(cString: strerror(errno)))")
        }
    }
}
