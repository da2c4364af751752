import BundleIO
import Foundation
import Hashing
import NIOCore
import OCI
import Registry

/// Where push reads content from: a bundle (through its seek index, nothing extracted) or an
/// unpacked folder. Either way the statement's signature is checked first and every byte read is
/// checked against the statement's digest.
protocol PushSource: Sendable {
    var statement: Statement { get }
    /// The signed envelope of the statement, exactly as the bundle holds it.
    var envelope: [UInt8] { get }
    /// The statement's subjects by entry path.
    var subjects: [String: Statement.Subject] { get }
    /// The bundle carries no signature (pushed only because the policy allowed it).
    var unsigned: Bool { get }
    /// A fresh reader of a (possibly large) entry, checking its size and (unless the entry's files
    /// still show `identity`, recorded when it was last read and checked whole) its digest.
    func chunks(of path: String, unchangedSince identity: [FileIdentity]?) throws -> any ByteChunkSource
    /// What the files an entry is read from are now (see ``FileIdentity``).
    func identity(of path: String) throws -> [FileIdentity]
    /// Reads an entry whole against its signed digest; returns the identity its files showed
    /// before the read if they show the same after it, nil if they changed meanwhile.
    func checkWhole(_ path: String) async throws -> [FileIdentity]?
    /// Whether the source holds a layer a delta bundle leaves out (an unpacked delta does, when
    /// unpack copied it from `--base`).
    func holds(leftOut path: String) -> Bool
}

extension PushSource {
    /// A fresh, verifying reader of a (possibly large) entry.
    func chunks(of path: String) throws -> any ByteChunkSource { try chunks(of: path, unchangedSince: nil) }

    func checkWhole(_ path: String) async throws -> [FileIdentity]? {
        let before = try identity(of: path)
        let chunks = try chunks(of: path)
        while try await chunks.nextChunk() != nil {}
        return try identity(of: path) == before ? before : nil
    }

    /// The signed sha256 and size of an entry: a subject of the statement, or a layer the
    /// predicate lists as left out (its digest is its sha256).
    func subject(_ path: String) throws -> (sha256: String, size: Int64) {
        if let subject = subjects[path], let sha256 = subject.sha256, let size = subject.annotations?.size {
            return (sha256, size)
        }
        if let digest = BundleFormat.blobDigest(entry: path), let size = statement.predicate.base?.sizes[digest] {
            return (digest.encoded, size)
        }
        throw PushError.unlisted(path: path)
    }

    /// The left-out layers (by digest) this source cannot provide: they must be in the registry.
    func missingLeftOut() -> [Digest: Int64] {
        (statement.predicate.base?.sizes ?? [:]).filter { digest, _ in !holds(leftOut: BundleFormat.blobEntry(digest)) }
    }

    /// A small entry (manifests, indexes, the layout files), whole and verified.
    func bytes(of path: String) async throws -> [UInt8] {
        let source = try chunks(of: path)
        var out: [UInt8] = []
        while let chunk = try await source.nextChunk() { out.append(contentsOf: chunk.readableBytesView) }
        return out
    }
}

/// Opens what push and serve read: a bundle (or its parts) or an unpacked folder, its signature
/// checked first; with `base`, a delta bundle together with the bundle it builds on, which then
/// provides the layers the delta leaves out (its own signature checked by the same policy).
func openPushSource(_ path: String, policy: SignaturePolicy, chunkSize: Int = 1 << 20, base: String? = nil) throws -> any PushSource {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) || BundleFile.existsAsParts(path) else {
        throw PushError.noSuchSource(path: path)
    }
    let source: any PushSource =
        isDirectory.boolValue
        ? try FolderPushSource(root: path, policy: policy, chunkSize: chunkSize)
        : try BundlePushSource(path: path, policy: policy, chunkSize: chunkSize)
    guard let base else { return source }
    guard source.statement.predicate.base != nil else {
        throw PushError.notADelta(base: base, path: path)
    }
    return DeltaPushSource(delta: source, base: try openPushSource(base, policy: policy, chunkSize: chunkSize))
}

/// A delta bundle read with the bundle it builds on: the delta's statement and entries, and its
/// left-out layers from the base. A left-out layer's path names its digest, so the base's reader,
/// which checks it against the base's signed sha256, checks the digest the delta lists.
struct DeltaPushSource: PushSource {
    let delta: any PushSource
    let base: any PushSource

    var statement: Statement { delta.statement }
    var envelope: [UInt8] { delta.envelope }
    var subjects: [String: Statement.Subject] { delta.subjects }
    var unsigned: Bool { delta.unsigned || base.unsigned }

    func holds(leftOut path: String) -> Bool {
        delta.holds(leftOut: path) || base.subjects[path] != nil || base.holds(leftOut: path)
    }

    func chunks(of path: String, unchangedSince identity: [FileIdentity]?) throws -> any ByteChunkSource {
        try holder(of: path).chunks(of: path, unchangedSince: identity)
    }

    func identity(of path: String) throws -> [FileIdentity] { try holder(of: path).identity(of: path) }

    func checkWhole(_ path: String) async throws -> [FileIdentity]? { try await holder(of: path).checkWhole(path) }

    private func holder(of path: String) -> any PushSource {
        delta.subjects[path] != nil || delta.holds(leftOut: path) ? delta : base
    }
}

/// A bundle file read through its seek index.
struct BundlePushSource: PushSource {
    let path: String
    let file: BundleFile
    let statement: Statement
    let envelope: [UInt8]
    let subjects: [String: Statement.Subject]
    let unsigned: Bool
    /// Seek index entries by path.
    let frames: [String: SeekIndex.Entry]
    /// The most bytes a reader holds at a time.
    let chunkSize: Int

    init(path: String, policy: SignaturePolicy, chunkSize: Int = 1 << 20) throws {
        let access = try BundleRandomAccess(path: path, policy: policy)
        self.path = path
        self.chunkSize = chunkSize
        statement = access.statement
        envelope = access.envelope
        subjects = statement.subjectsByName
        unsigned = access.unsigned
        file = access.file
        frames = Dictionary(access.index.entries.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
    }

    func holds(leftOut path: String) -> Bool { false }

    func chunks(of entryPath: String, unchangedSince identity: [FileIdentity]?) throws -> any ByteChunkSource {
        let (sha256, size) = try subject(entryPath)
        guard let entry = frames[entryPath], entry.size == size else {
            throw ReadError.noFrame(entry: entryPath)
        }
        let hashing = try identity == nil || file.identity() != identity
        let cursor = try FrameCursor(file: file, entry: entry, chunkSize: chunkSize)
        return VerifyingChunks(what: entryPath, sha256: sha256, size: size, chunkSize: chunkSize, hashing: hashing) {
            try cursor.read(into: $0)
        }
    }

    func identity(of path: String) throws -> [FileIdentity] { try file.identity() }
}

/// An unpacked bundle folder (`airlock unpack` output).
struct FolderPushSource: PushSource {
    let root: String
    let statement: Statement
    let envelope: [UInt8]
    let subjects: [String: Statement.Subject]
    let unsigned: Bool
    /// The most bytes a reader holds at a time.
    let chunkSize: Int

    init(root: String, policy: SignaturePolicy, chunkSize: Int = 1 << 20) throws {
        self.root = root
        self.chunkSize = chunkSize
        guard let envelope = FileManager.default.contents(atPath: "\(root)/\(BundleFormat.statementPath)") else {
            throw PushError.notAnUnpackedBundle(folder: root)
        }
        self.envelope = Array(envelope)
        var report = VerificationReport(bundle: root)
        do {
            statement = try VerificationPass(path: root, policy: policy, receiver: nil).checkStatementBytes(
                Array(envelope),
                report: &report
            )
        } catch let failure as CheckFailure {
            throw ReadError.statement(failure.message)
        }
        unsigned = report.unsigned
        subjects = statement.subjectsByName
    }

    func holds(leftOut path: String) -> Bool { FileManager.default.fileExists(atPath: "\(root)/\(path)") }

    func chunks(of entryPath: String, unchangedSince identity: [FileIdentity]?) throws -> any ByteChunkSource {
        let file = try open(entryPath)
        return try reader(of: entryPath, in: file, hashing: identity == nil || [file.identity()] != identity)
    }

    /// The entry's file opened once: its identity before and after the read come from the
    /// descriptor that was read.
    func checkWhole(_ path: String) async throws -> [FileIdentity]? {
        let file = try open(path)
        let before = [try file.identity()]
        let chunks = try reader(of: path, in: file, hashing: true)
        while try await chunks.nextChunk() != nil {}
        return try [file.identity()] == before ? before : nil
    }

    private func open(_ entryPath: String) throws -> BundleIO.FileDescriptor {
        try FileDescriptor.openForReading("\(root)/\(try EntryPath(entryPath).value)")
    }

    private func reader(of entryPath: String, in file: BundleIO.FileDescriptor, hashing: Bool) throws -> VerifyingChunks {
        let (sha256, size) = try subject(entryPath)
        var offset: Int64 = 0
        return VerifyingChunks(what: entryPath, sha256: sha256, size: size, chunkSize: chunkSize, hashing: hashing) { buffer in
            let filled = try file.fill(buffer, at: offset)
            offset += Int64(filled)
            return filled
        }
    }

    func identity(of path: String) throws -> [FileIdentity] { [try open(path).identity()] }
}

/// Hands out an entry's bytes while hashing them, and refuses to hand out the last piece unless
/// the whole entry matches its signed digest and size — so a tampered blob is never completed.
/// Without `hashing` (an entry checked whole before, from files unchanged since) only the size is
/// checked. Each piece is read straight into the buffer that is handed out (no copy on the way to
/// a socket).
///
/// `@unchecked Sendable`: its state is guarded by `lock`; AsyncHTTPClient also reads it from one
/// task at a time.
final class VerifyingChunks: ByteChunkSource, @unchecked Sendable {
    private let lock = NSLock()
    private let what: String
    private let sha256: String
    private let size: Int64
    private let chunkSize: Int
    private let hashing: Bool
    /// Fills the memory it is given with the entry's next bytes; returns how many (0 at the end).
    private let read: (UnsafeMutableRawBufferPointer) throws -> Int
    private let hasher = SHA256Hasher()
    private let allocator = ByteBufferAllocator()
    private var count: Int64 = 0
    private var held: ByteBuffer?
    private var done = false

    init(
        what: String,
        sha256: String,
        size: Int64,
        chunkSize: Int,
        hashing: Bool = true,
        read: @escaping (UnsafeMutableRawBufferPointer) throws -> Int
    ) {
        self.what = what
        self.sha256 = sha256
        self.size = size
        self.chunkSize = chunkSize
        self.hashing = hashing
        self.read = read
    }

    func nextChunk() async throws -> ByteBuffer? {
        try lock.withLock { try step() }
    }

    /// Reads one piece ahead, so the last piece is released only after the digest check.
    private func step() throws -> ByteBuffer? {
        if done { return nil }
        if held == nil { held = try pull() }
        guard let current = held else {
            done = true
            return nil
        }
        held = try pull()
        if held == nil {
            guard count == size, !hashing || hasher.finalizeHex() == sha256 else {
                done = true
                throw RegistryError.digestMismatch(
                    what: "entry \(what)",
                    expected: "sha256:\(sha256)",
                    actual: count == size ? "other bytes" : "\(count) bytes instead of \(size)"
                )
            }
        }
        return current
    }

    private func pull() throws -> ByteBuffer? {
        // One byte past what is left, so a longer entry shows as such.
        let want = Int(min(Int64(chunkSize), max(0, size - count) + 1))
        var piece = allocator.buffer(capacity: want)
        do {
            _ = try piece.writeWithUnsafeMutableBytes(minimumWritableBytes: want) { memory in
                try read(UnsafeMutableRawBufferPointer(rebasing: memory[..<want]))
            }
        } catch {
            throw RegistryError.digestMismatch(what: "entry \(what)", expected: "sha256:\(sha256)", actual: "unreadable bytes (\(error))")
        }
        guard piece.readableBytes > 0 else { return nil }
        count += Int64(piece.readableBytes)
        guard count <= size else {
            throw RegistryError.digestMismatch(what: "entry \(what)", expected: "sha256:\(sha256)", actual: "more than \(size) bytes")
        }
        if hashing { piece.withUnsafeReadableBytes { hasher.update($0) } }
        return piece
    }
}
