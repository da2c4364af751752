import BundleIO
import Foundation
import Hashing
import OCI

/// A content-addressed cache of blobs (`blobs/sha256/<hex>`). Every write is hashed and moved into
/// place only under its true digest; readers re-hash what they use. Several airlock processes may
/// share one store: writes go through unique temporary files and atomic renames.
public struct ContentStore: Sendable {
    public let root: String

    public init(root: String) throws {
        self.root = root
        for folder in ["blobs/sha256", "tmp"] {
            try FileManager.default.createDirectory(atPath: "\(root)/\(folder)", withIntermediateDirectories: true)
        }
    }

    /// The default store: `$AIRLOCK_CACHE`, else `$XDG_CACHE_HOME/airlock`, else `~/.cache/airlock`.
    public static func defaultRoot() -> String {
        let environment = ProcessInfo.processInfo.environment
        if let explicit = environment["AIRLOCK_CACHE"], !explicit.isEmpty { return explicit }
        if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty { return "\(xdg)/airlock" }
        return "\(NSHomeDirectory())/.cache/airlock"
    }

    /// Where the blob with `digest` lives (it may not exist).
    public func path(of digest: Digest) -> String { "\(root)/\(digest.layoutPath)" }

    /// Whether the store has a blob of that digest and size (not re-hashed: readers check).
    public func contains(_ digest: Digest, size: Int64? = nil) -> Bool {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path(of: digest)) else { return false }
        guard let size else { return true }
        return (attributes[.size] as? NSNumber)?.int64Value == size
    }

    /// What an ingest produced.
    public struct Ingested: Sendable {
        public let digest: Digest
        public let size: Int64
        /// The first bytes, for sniffing compression.
        public let head: [UInt8]
    }

    /// Stores bytes produced by `produce` (which calls its argument with each chunk). When
    /// `expected` is given the bytes must hash to it, or nothing is stored.
    public func ingest(
        expected: Digest? = nil,
        expectedSize: Int64? = nil,
        what: String,
        _ produce: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws -> Ingested {
        let temporary = "\(root)/tmp/\(UUID().uuidString)"
        let file = try FileDescriptor.create(temporary)
        var committed = false
        defer { if !committed { unlink(temporary) } }
        let hasher = SHA256Hasher()
        var size: Int64 = 0
        var head: [UInt8] = []
        try produce { chunk in
            hasher.update(chunk)
            if head.count < 8 { head += chunk.prefix(8 - head.count) }
            size += Int64(chunk.count)
            try file.writeAll(chunk)
        }
        try file.close()
        let digest = try Digest(sha256Hex: hasher.finalizeHex())
        if let expected, expected != digest {
            throw PackError.contentDiffers(what: what, expected: expected.description, actual: digest.description)
        }
        if let expectedSize, expectedSize != size {
            throw PackError.sizeDiffers(what: what, size: size, expected: expectedSize)
        }
        if rename(temporary, path(of: digest)) != 0 {
            throw AirlockError.io("cannot write to the cache \(root): \(String(cString: strerror(errno)))")
        }
        committed = true
        return Ingested(digest: digest, size: size, head: head)
    }

    /// Stores `bytes`.
    @discardableResult
    public func ingest(bytes: [UInt8], what: String) throws -> Ingested {
        try ingest(what: what) { sink in try bytes.withUnsafeBytes { try sink($0) } }
    }

    /// Stores the file at `source`, streaming, optionally checking it against `expected`.
    public func ingest(file source: String, expected: Digest? = nil, expectedSize: Int64? = nil, what: String) throws -> Ingested {
        if let expected, let expectedSize, contains(expected, size: expectedSize) {
            return Ingested(digest: expected, size: expectedSize, head: try readHead(of: expected))
        }
        let input = try FileDescriptor.openForReading(source)
        return try ingest(expected: expected, expectedSize: expectedSize, what: what) { sink in
            try input.forEachChunk(sink)
        }
    }

    /// Streams the blob, re-hashing it; fails if it no longer matches its digest.
    public func read(_ digest: Digest, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let file: FileDescriptor
        do { file = try FileDescriptor.openForReading(path(of: digest)) } catch {
            throw PackError.cacheLost(root: root, digest: digest.description)
        }
        let hasher = SHA256Hasher()
        try file.forEachChunk { chunk in
            hasher.update(chunk)
            try body(chunk)
        }
        guard hasher.finalizeHex() == digest.encoded else {
            unlink(path(of: digest))
            throw PackError.cacheDamaged(root: root, digest: digest.description)
        }
    }

    /// Reads a small blob whole (manifests, configs), verified.
    public func bytes(of digest: Digest) throws -> [UInt8] {
        var out: [UInt8] = []
        try read(digest) { out.append(contentsOf: $0) }
        return out
    }

    /// The first bytes of a stored blob.
    public func readHead(of digest: Digest) throws -> [UInt8] {
        let file = try FileDescriptor.openForReading(path(of: digest))
        return try file.readUpTo(8, at: 0)
    }
}

/// Whether the bytes start like a compressed stream (gzip, zstd, xz, bzip2), where another
/// compression pass gains nothing.
public func looksCompressed(_ head: [UInt8]) -> Bool {
    head.starts(with: [0x1f, 0x8b]) || head.starts(with: [0x28, 0xb5, 0x2f, 0xfd])
        || head.starts(with: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) || head.starts(with: Array("BZh".utf8))
}
