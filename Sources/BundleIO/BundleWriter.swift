internal import CArchive
import Foundation

/// Writes a bundle file: a restricted-pax tar in which every entry is its own zstd frame, then the
/// end-of-archive frame, then the seek index: in one file, or split into parts of a fixed size.
/// Output goes to hidden sibling files renamed into place by ``finish()``; ``abandon()`` (or an
/// error) leaves nothing behind.
public final class BundleWriter {
    public let destination: String
    private let output: BundleOutput
    private let frames: ZstdFrameWriter
    private var archive: OpaquePointer?
    private let sink: TarSink
    private let modificationTime: Int64
    private var entries: [SeekIndex.Entry] = []
    private var finished = false

    /// What was written.
    public struct Summary: Sendable {
        /// One file of a split bundle.
        public struct Part: Sendable {
            public let path: String
            public let size: Int64
            public let sha256: String
        }

        public let path: String
        public let size: Int64
        public let sha256: String
        /// The parts, in order, when the bundle was split (empty otherwise).
        public let parts: [Part]
        /// Files an earlier bundle of the same name left that were removed (parts past the new last
        /// one, or the other form: a single file for a split bundle, parts for a single file).
        public let removed: [String]

        /// Every file written: the bundle, or its parts.
        public var files: [String] { parts.isEmpty ? [path] : parts.map(\.path) }
    }

    /// The smallest part a bundle is split into.
    public static let minimumPartSize: Int64 = 4 << 10

    /// The size parts are written at when `requested` is asked for: whole 4 KiB pages.
    public static func partSize(_ requested: Int64) -> Int64 {
        requested - requested % Int64(OutputBuffer.alignment)
    }

    /// - Parameters:
    ///   - destination: the bundle path (for a split bundle, the name its parts share); replaced
    ///     when it exists.
    ///   - modificationTime: the mtime of every entry (the bundle's `created`), for reproducibility.
    ///   - level: zstd level for compressible entries.
    ///   - partSize: split into parts of this many bytes (rounded down to whole 4 KiB pages), or nil.
    public init(destination: String, modificationTime: Int64, level: Int32 = 3, partSize: Int64? = nil) throws {
        self.destination = destination
        if let partSize, partSize < Self.minimumPartSize {
            throw BundleIOError.parts("a part of \(partSize) bytes is too small: at least \(Self.minimumPartSize) bytes")
        }
        output = try BundleOutput(destination: destination, partSize: partSize.map(Self.partSize))
        do {
            frames = try ZstdFrameWriter(output: output, level: level)
        } catch {
            output.discard()
            throw error
        }
        self.modificationTime = modificationTime
        sink = TarSink(frames: frames)
        archive = archive_write_new()
        do {
            try openArchive()
        } catch {
            abandon()
            throw error
        }
    }

    deinit {
        if !finished { abandon() }
    }

    private func openArchive() throws {
        guard let archive else { throw BundleIOError.archive(operation: "archive_write_new", detail: "out of memory") }
        try checkArchive(archive_write_set_format_pax_restricted(archive), archive, "set pax format")
        // Unblocked output: libarchive hands every header, data and padding write straight to the
        // callback, so each entry's bytes end up in its own frame.
        try checkArchive(archive_write_set_bytes_per_block(archive, 0), archive, "set block size")
        try checkArchive(archive_write_set_bytes_in_last_block(archive, 1), archive, "set last block")
        let client = Unmanaged.passUnretained(sink).toOpaque()
        try checkArchive(archive_write_open(archive, client, nil, tarSinkWrite, nil), archive, "open tar writer")
    }

    /// Adds one regular file entry of `size` bytes; `produce` must hand exactly that many bytes to the sink.
    public func addEntry(
        path: String,
        size: Int64,
        compression: EntryCompression,
        produce: (EntryDataSink) throws -> Void
    ) throws {
        guard let archive else { throw BundleIOError.archive(operation: "add entry", detail: "writer closed") }
        guard let entry = archive_entry_new() else { throw BundleIOError.archive(operation: "archive_entry_new", detail: "out of memory") }
        defer { archive_entry_free(entry) }
        archive_entry_set_pathname_utf8(entry, path)
        archive_entry_set_filetype(entry, FileTypeBits.regular)
        archive_entry_set_perm(entry, 0o644)
        archive_entry_set_size(entry, size)
        archive_entry_set_mtime(entry, time_t(modificationTime), 0)
        archive_entry_set_uid(entry, 0)
        archive_entry_set_gid(entry, 0)

        try frames.beginFrame(compression)
        let frameStart = frames.frameStart
        try checkArchive(archive_write_header(archive, entry), archive, "write header of \(path)")
        try sink.rethrow()
        let headerSize = frames.frameInput
        let data = EntryDataSink(archive: archive, sink: sink, path: path)
        try produce(data)
        guard data.written == size else { throw BundleIOError.sizeMismatch(path: path, expected: size, actual: data.written) }
        try checkArchive(archive_write_finish_entry(archive), archive, "finish \(path)")
        try sink.rethrow()
        let compressedSize = try frames.endFrame()
        entries.append(SeekIndex.Entry(path: path, offset: frameStart, compressedSize: compressedSize, headerSize: headerSize, size: size))
    }

    /// Writes the end-of-archive frame and the seek index, syncs, and renames the file into place.
    public func finish() throws -> Summary {
        guard let archive else { throw BundleIOError.archive(operation: "finish", detail: "writer closed") }
        do {
            try frames.beginFrame(.compress)
            let trailerOffset = frames.frameStart
            try checkArchive(archive_write_close(archive), archive, "close tar")
            try sink.rethrow()
            let trailerSize = try frames.endFrame()
            archive_write_free(archive)
            self.archive = nil
            let index = SeekIndex(entries: entries, trailerOffset: trailerOffset, trailerSize: trailerSize)
            try index.encodedFrame().withUnsafeBytes { try frames.writeVerbatim($0) }
            let (sha256, partHashes) = try frames.finish()
            try output.close()
            let paths = output.finalPaths
            let removed = try output.commit()
            finished = true
            let parts =
                output.partSize == nil ? [] : zip(paths, partHashes).map { Summary.Part(path: $0, size: $1.size, sha256: $1.sha256) }
            return Summary(path: destination, size: frames.offset, sha256: sha256, parts: parts, removed: removed)
        } catch {
            abandon()
            throw error
        }
    }

    var framesOffset: Int64 { frames.offset }

    func writeVerbatim(_ bytes: UnsafeRawBufferPointer) throws { try frames.writeVerbatim(bytes) }

    func recordCopied(_ entry: SeekIndex.Entry) { entries.append(entry) }

    /// Removes the partial file.
    public func abandon() {
        sink.discarding = true
        if let archive { archive_write_free(archive) }
        archive = nil
        frames.settle()
        output.discard()
        finished = true
    }
}

/// Receives one entry's data for ``BundleWriter/addEntry(path:size:compression:produce:)``.
public final class EntryDataSink {
    private let archive: OpaquePointer
    private let sink: TarSink
    private let path: String
    public private(set) var written: Int64 = 0

    init(archive: OpaquePointer, sink: TarSink, path: String) {
        self.archive = archive
        self.sink = sink
        self.path = path
    }

    /// Appends data to the entry.
    public func write(_ buffer: UnsafeRawBufferPointer) throws {
        guard buffer.count > 0 else { return }
        let result = archive_write_data(archive, buffer.baseAddress, buffer.count)
        try sink.rethrow()
        guard result == buffer.count else {
            throw BundleIOError.archive(operation: "write data of \(path)", detail: archiveErrorString(archive))
        }
        written += Int64(buffer.count)
    }

    /// Appends data to the entry.
    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }
}

/// The libarchive client: forwards tar bytes into the current zstd frame.
final class TarSink {
    let frames: ZstdFrameWriter
    var error: (any Error)?
    /// Set when the bundle is abandoned: whatever libarchive still writes while it is freed goes nowhere.
    var discarding = false

    init(frames: ZstdFrameWriter) { self.frames = frames }

    func rethrow() throws {
        if let error {
            self.error = nil
            throw error
        }
    }
}

private let tarSinkWrite: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, UnsafeRawPointer?, Int) -> Int = {
    _,
    client,
    buffer,
    length in
    guard let client else { return -1 }
    let sink = Unmanaged<TarSink>.fromOpaque(client).takeUnretainedValue()
    if sink.discarding { return length }
    do {
        try sink.frames.write(UnsafeRawBufferPointer(start: buffer, count: length))
        return length
    } catch {
        sink.error = error
        return -1
    }
}

/// libarchive's message for the last failure on `archive`.
func archiveErrorString(_ archive: OpaquePointer) -> String {
    archive_error_string(archive).map { String(cString: $0) } ?? "unknown libarchive error"
}

/// Throws unless `result` is ARCHIVE_OK. ARCHIVE_WARN counts as failure: from a filter it means
/// libarchive fell back to an external program, and from a header it means data was altered.
func checkArchive(_ result: Int32, _ archive: OpaquePointer, _ operation: String) throws {
    guard result == ARCHIVE_OK else {
        throw BundleIOError.archive(operation: operation, detail: archiveErrorString(archive))
    }
}

extension BundleWriter {
    /// Copies whole entry frames from another bundle, byte for byte, recording them in the new
    /// seek index at their new offsets.
    public func copyFrames(_ frames: some Sequence<SeekIndex.Entry>, from source: BundleFile) throws {
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        for frame in frames {
            let start = framesOffset
            var copied: Int64 = 0
            while copied < frame.compressedSize {
                let want = Int(min(Int64(buffer.count), frame.compressedSize - copied))
                let got = try buffer.withUnsafeMutableBytes {
                    try source.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[..<want]), at: frame.offset + copied)
                }
                guard got > 0 else { throw BundleIOError.notABundle("\(source.path) ends inside the frame of \(frame.path)") }
                try buffer.withUnsafeBytes { try writeVerbatim(UnsafeRawBufferPointer(rebasing: $0[..<got])) }
                copied += Int64(got)
            }
            recordCopied(
                SeekIndex.Entry(
                    path: frame.path,
                    offset: start,
                    compressedSize: frame.compressedSize,
                    headerSize: frame.headerSize,
                    size: frame.size
                )
            )
        }
    }
}
