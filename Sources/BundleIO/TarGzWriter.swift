internal import CArchive
import Foundation

/// Writes a reproducible `.tar.gz` (a Helm chart package): entries in the order given, fixed
/// mtime, uid/gid 0, mode 0644, no gzip timestamp or name. Written to a sibling temporary file
/// and renamed into place by ``finish()``.
public final class TarGzWriter {
    private var archive: OpaquePointer?
    private let destination: String
    private let temporary: String
    private let modificationTime: Int64

    public init(destination: String, modificationTime: Int64) throws {
        self.destination = destination
        self.temporary = destination + ".partial-\(getpid())"
        self.modificationTime = modificationTime
        guard let archive = archive_write_new() else {
            throw BundleIOError.archive(operation: "archive_write_new", detail: "out of memory")
        }
        self.archive = archive
        do {
            try checkArchive(archive_write_set_format_pax_restricted(archive), archive, "set pax format")
            try checkArchive(archive_write_add_filter_gzip(archive), archive, "add gzip filter")
            try checkArchive(archive_write_set_filter_option(archive, "gzip", "timestamp", nil), archive, "drop gzip timestamp")
            try checkArchive(archive_write_open_filename(archive, temporary), archive, "open \(temporary)")
        } catch {
            archive_write_free(archive)
            self.archive = nil
            unlink(temporary)
            throw error
        }
    }

    deinit {
        if let archive { archive_write_free(archive) }
        unlink(temporary)
    }

    /// Adds a regular file with `bytes`.
    public func add(path: String, bytes: [UInt8]) throws {
        guard let archive, let entry = archive_entry_new() else { throw BundleIOError.archive(operation: "add", detail: "writer closed") }
        defer { archive_entry_free(entry) }
        archive_entry_set_pathname_utf8(entry, path)
        archive_entry_set_filetype(entry, FileTypeBits.regular)
        archive_entry_set_perm(entry, 0o644)
        archive_entry_set_size(entry, Int64(bytes.count))
        archive_entry_set_mtime(entry, time_t(modificationTime), 0)
        try checkArchive(archive_write_header(archive, entry), archive, "write header of \(path)")
        let written = bytes.withUnsafeBytes { archive_write_data(archive, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw BundleIOError.archive(operation: "write \(path)", detail: archiveErrorString(archive)) }
    }

    /// Closes the archive and moves it into place.
    public func finish() throws {
        guard let archive else { return }
        try checkArchive(archive_write_close(archive), archive, "close \(temporary)")
        archive_write_free(archive)
        self.archive = nil
        guard rename(temporary, destination) == 0 else {
            throw BundleIOError.io(path: destination, operation: "rename into place", errno: errno)
        }
    }
}
