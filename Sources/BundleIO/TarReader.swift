internal import CArchive

/// The kind of a tar entry.
public enum TarEntryKind: Sendable, Equatable, CustomStringConvertible {
    case regular, directory, symlink, hardlink, characterDevice, blockDevice, fifo, socket, unknown

    public var description: String {
        switch self {
        case .regular: "regular file"
        case .directory: "directory"
        case .symlink: "symlink"
        case .hardlink: "hardlink"
        case .characterDevice: "character device"
        case .blockDevice: "block device"
        case .fifo: "fifo"
        case .socket: "socket"
        case .unknown: "unknown entry type"
        }
    }
}

/// One tar header as read.
public struct TarEntryHeader: Sendable, Equatable {
    public let path: String
    public let kind: TarEntryKind
    public let size: Int64
    public let linkTarget: String?
}

/// Streams the entries of a tar file through libarchive, one pass, front to back.
public final class TarReader {
    /// Which compression a reader accepts.
    public enum Input: Sendable {
        /// A bundle: zstd only.
        case zstdTar
        /// Any tar libarchive recognises, plain or compressed (docker save archives, chart .tgz files).
        case anyTar
    }

    private var archive: OpaquePointer?
    public let path: String
    private var dataLeft = false
    /// The bytes an in-memory reader reads (libarchive keeps a pointer to them until closed).
    private var memory: UnsafeMutableRawBufferPointer?
    /// The file a path reader reads, through mappings (kept alive while libarchive reads it).
    private var source: MappedSource?

    /// Opens `path`: for `.zstdTar` a bundle (its parts too, see ``BundleFile/open(_:)``), for
    /// `.anyTar` the one file.
    public convenience init(path: String, input: Input) throws {
        try self.init(file: input == .zstdTar ? BundleFile.open(path) : BundleFile.single(path), input: input)
    }

    public init(file: BundleFile, input: Input) throws {
        let path = file.path
        self.path = path
        guard let archive = archive_read_new() else { throw BundleIOError.archive(operation: "archive_read_new", detail: "out of memory") }
        self.archive = archive
        switch input {
        case .zstdTar:
            try checkArchive(archive_read_support_filter_zstd(archive), archive, "enable zstd")
        case .anyTar:
            Self.enableCommonFilters(archive)
        }
        try checkArchive(archive_read_support_format_tar(archive), archive, "enable tar")
        let source = MappedSource(file: file)
        self.source = source
        let opened = archive_read_open(archive, Unmanaged.passUnretained(source).toOpaque(), nil, mappedSourceRead, nil)
        if opened != ARCHIVE_OK {
            let detail = archiveErrorString(archive)
            close()
            if detail.contains("Unrecognized archive format") || detail.contains("unrecognized") {
                throw BundleIOError.notABundle("\(path) is not a \(input == .zstdTar ? "zstd-compressed " : "")tar file")
            }
            throw BundleIOError.archive(operation: "open \(path)", detail: detail)
        }
    }

    /// The compressions a tar from elsewhere may come in (`docker save | gzip`, chart `.tgz`,
    /// `.tar.xz`, `.tar.bz2`, `.tar.zst`). Named one by one rather than all of libarchive's
    /// filters, so a statically linked airlock needs no lz4, lzo or external-program filters.
    private static func enableCommonFilters(_ archive: OpaquePointer) {
        archive_read_support_filter_gzip(archive)
        archive_read_support_filter_bzip2(archive)
        archive_read_support_filter_xz(archive)
        archive_read_support_filter_zstd(archive)
    }

    /// Reads a tar (plain or compressed) held in memory; `name` is used in messages.
    public init(bytes: [UInt8], name: String) throws {
        self.path = name
        guard let archive = archive_read_new() else { throw BundleIOError.archive(operation: "archive_read_new", detail: "out of memory") }
        self.archive = archive
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
        bytes.withUnsafeBytes { copy.copyMemory(from: $0) }
        memory = copy
        Self.enableCommonFilters(archive)
        try checkArchive(archive_read_support_format_tar(archive), archive, "enable tar")
        guard archive_read_open_memory(archive, copy.baseAddress, bytes.count) == ARCHIVE_OK else {
            let detail = archiveErrorString(archive)
            close()
            throw BundleIOError.notABundle("\(name) is not a tar file (\(detail))")
        }
    }

    deinit { close() }

    /// Frees the libarchive handle.
    public func close() {
        if let archive { archive_read_free(archive) }
        archive = nil
        memory?.deallocate()
        memory = nil
        source = nil
    }

    /// The next header, or nil at the end of the archive. Unread data of the previous entry is skipped.
    public func next() throws -> TarEntryHeader? {
        guard let archive else { return nil }
        var entry: OpaquePointer?
        let result = archive_read_next_header(archive, &entry)
        if result == ARCHIVE_EOF { return nil }
        guard result == ARCHIVE_OK, let entry else {
            throw BundleIOError.archive(operation: "read \(path)", detail: archiveErrorString(archive))
        }
        let name =
            archive_entry_pathname_utf8(entry).map { String(cString: $0) }
            ?? archive_entry_pathname(entry).map { String(cString: $0) } ?? ""
        let kind: TarEntryKind
        if archive_entry_hardlink(entry) != nil {
            kind = .hardlink
        } else {
            switch UInt32(archive_entry_filetype(entry)) {
            case FileTypeBits.regular: kind = .regular
            case FileTypeBits.directory: kind = .directory
            case FileTypeBits.symlink: kind = .symlink
            case FileTypeBits.characterDevice: kind = .characterDevice
            case FileTypeBits.blockDevice: kind = .blockDevice
            case FileTypeBits.fifo: kind = .fifo
            case FileTypeBits.socket: kind = .socket
            default: kind = .unknown
            }
        }
        let link = (archive_entry_symlink(entry) ?? archive_entry_hardlink(entry)).map { String(cString: $0) }
        dataLeft = kind == .regular
        return TarEntryHeader(path: name, kind: kind, size: archive_entry_size(entry), linkTarget: link)
    }

    /// Streams the current entry's data to `body`, in order; fails on sparse entries or short data.
    /// Returns the number of bytes delivered.
    @discardableResult
    public func readData(_ body: (UnsafeRawBufferPointer) throws -> Void) throws -> Int64 {
        guard let archive, dataLeft else { return 0 }
        dataLeft = false
        var delivered: Int64 = 0
        while true {
            var buffer: UnsafeRawPointer?
            var size = 0
            var offset: Int64 = 0
            let result = archive_read_data_block(archive, &buffer, &size, &offset)
            if result == ARCHIVE_EOF { return delivered }
            guard result == ARCHIVE_OK else {
                throw BundleIOError.archive(operation: "read \(path)", detail: archiveErrorString(archive))
            }
            guard offset == delivered else {
                throw BundleIOError.archive(operation: "read \(path)", detail: "sparse entries are not allowed")
            }
            try body(UnsafeRawBufferPointer(start: buffer, count: size))
            delivered += Int64(size)
        }
    }

    /// Reads the current entry whole, refusing more than `limit` bytes.
    public func readAll(limit: Int64) throws -> [UInt8] {
        var bytes: [UInt8] = []
        try readData { chunk in
            guard Int64(bytes.count + chunk.count) <= limit else {
                throw BundleIOError.archive(operation: "read \(path)", detail: "entry larger than \(limit) bytes")
            }
            bytes.append(contentsOf: chunk)
        }
        return bytes
    }
}

/// Hands libarchive the file one mapped window at a time: no copy into a read buffer.
final class MappedSource {
    let windows: BundleWindows
    var error: (any Error)?

    init(file: BundleFile) {
        windows = file.sequentialReader()
    }
}

private func mappedSourceRead(
    _ archive: OpaquePointer?,
    _ client: UnsafeMutableRawPointer?,
    _ buffer: UnsafeMutablePointer<UnsafeRawPointer?>?
) -> Int {
    let source = Unmanaged<MappedSource>.fromOpaque(client!).takeUnretainedValue()
    do {
        let window = try source.windows.next()
        buffer?.pointee = window.baseAddress
        return window.count
    } catch {
        source.error = error
        return -1
    }
}
