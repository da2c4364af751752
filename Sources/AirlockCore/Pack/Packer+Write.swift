import BundleIO
import Foundation
import Hashing
import OCI
import Registry
import Signing

/// The bundle's entries in order, and writing them: layout files, the entry plan, the writer fed
/// by the downloads.
extension Packer {
    /// `oci/oci-layout` and `oci/index.json`, stored like any blob.
    func layoutFiles(_ contents: PackContents, store: ContentStore) throws -> [PackContents.Extra] {
        let header = try store.ingest(bytes: Array(#"{"imageLayoutVersion":"1.0.0"}"#.utf8), what: "oci-layout")
        let sorted = contents.tagged.sorted { ($0.refName ?? "") < ($1.refName ?? "") }
        let index = try store.ingest(bytes: try CanonicalJSON.encode(ImageIndex(manifests: sorted)), what: "index.json")
        return [
            .init(path: "oci/index.json", digest: index.digest, size: index.size),
            .init(path: "oci/oci-layout", digest: header.digest, size: header.size),
        ]
    }

    struct PlannedEntry: Sendable {
        var path: String
        var digest: Digest
        var size: Int64
        var group: PackContents.EntryGroup
        var source: PackContents.Source
        var sha256: String { digest.encoded }
    }

    /// Entry order: layout metadata, manifests, configs, endpoints and files, then layers; each group
    /// sorted bytewise by path, so a reader meets small metadata before big data.
    func plan(_ contents: PackContents, layout: [PackContents.Extra]) -> [PlannedEntry] {
        var entries = layout.map { PlannedEntry(path: $0.path, digest: $0.digest, size: $0.size, group: .layout, source: $0.source) }
        entries += contents.blobs.map { digest, blob in
            PlannedEntry(
                path: BundleFormat.blobEntry(digest),
                digest: digest,
                size: blob.size,
                group: blob.role.group,
                source: blob.source
            )
        }
        entries += contents.extras.map { PlannedEntry(path: $0.path, digest: $0.digest, size: $0.size, group: .extras, source: $0.source) }
        return entries.sorted { lhs, rhs in
            lhs.group != rhs.group ? lhs.group < rhs.group : lhs.path.utf8.lexicographicallyPrecedes(rhs.path.utf8)
        }
    }

    func write(
        envelope: DSSEEnvelope,
        entries: [PlannedEntry],
        store: ContentStore,
        to output: String,
        created: Int64,
        pulls: Pulls
    ) throws -> BundleWriter.Summary {
        let writer = try BundleWriter(
            destination: output,
            modificationTime: created,
            level: options.compressionLevel,
            partSize: options.partSize
        )
        do {
            let envelopeBytes = try encodeEnvelope(envelope)
            try writer.addEntry(path: BundleFormat.statementPath, size: Int64(envelopeBytes.count), compression: .compress) { sink in
                try sink.write(envelopeBytes)
            }
            for entry in entries {
                if let feed = try pulls.feed(for: entry.digest) {
                    let compression: EntryCompression = looksCompressed(try feed.firstBytes()) ? .store : .compress
                    try writer.addEntry(path: entry.path, size: entry.size, compression: compression) { sink in
                        try feed.drain { try sink.write($0) }
                    }
                    pulls.written(entry.digest)
                    continue
                }
                let compression: EntryCompression = looksCompressed(try head(of: entry, store: store)) ? .store : .compress
                try writer.addEntry(path: entry.path, size: entry.size, compression: compression) { sink in
                    switch entry.source {
                    case .store:
                        try store.read(entry.digest) { try sink.write($0) }
                    case .file(let path):
                        try readInPlace(path, entry: entry) { try sink.write($0) }
                    }
                }
            }
            return try writer.finish()
        } catch {
            writer.abandon()
            throw error
        }
    }
}

/// The first bytes of an entry, to tell already-compressed data.
private func head(of entry: Packer.PlannedEntry, store: ContentStore) throws -> [UInt8] {
    switch entry.source {
    case .store: return try store.readHead(of: entry.digest)
    case .file(let path): return try FileDescriptor.openForReading(path).readUpTo(8, at: 0)
    }
}

/// Streams a file that should hold exactly `entry`, failing if it changed or never matched.
private func readInPlace(_ path: String, entry: Packer.PlannedEntry, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
    let hasher = SHA256Hasher()
    var size: Int64 = 0
    try FileDescriptor.openForReading(path).forEachChunk { chunk in
        size += Int64(chunk.count)
        guard size <= entry.size else { return }
        hasher.update(chunk)
        try body(chunk)
    }
    guard size == entry.size, hasher.finalizeHex() == entry.sha256 else {
        throw PackError.fileChanged(path: path, digest: entry.digest.description)
    }
}
