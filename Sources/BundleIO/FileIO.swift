import Foundation

#if os(Linux)
    internal import CLinux
#endif

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A file as `fstat` shows it: device, inode, size, modification and change times. Any write to
/// the file, or a change of its times (`touch`), gives another identity, since the kernel sets the
/// change time on every change and no system call sets it back; what was checked while a file
/// showed one identity holds while it still does.
public struct FileIdentity: Equatable, Sendable {
    let device: UInt64
    let inode: UInt64
    let size: Int64
    let modified: timespec
    let changed: timespec

    init(_ info: stat) {
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        modified = info.st_mtim
        changed = info.st_ctim
    }

    public static func == (left: FileIdentity, right: FileIdentity) -> Bool {
        left.device == right.device && left.inode == right.inode && left.size == right.size
            && left.modified.tv_sec == right.modified.tv_sec && left.modified.tv_nsec == right.modified.tv_nsec
            && left.changed.tv_sec == right.changed.tv_sec && left.changed.tv_nsec == right.changed.tv_nsec
    }
}

/// A file descriptor with one owner, closed on `deinit` or by `close()`.
public final class FileDescriptor {
    public let path: String
    private(set) var fd: Int32

    /// Opens `path` read-only.
    public static func openForReading(_ path: String) throws -> FileDescriptor {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw BundleIOError.io(path: path, operation: "open", errno: errno) }
        return FileDescriptor(fd: fd, path: path)
    }

    /// Creates `path` exclusively (it must not exist) with `mode`.
    public static func create(_ path: String, mode: mode_t = 0o644) throws -> FileDescriptor {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw BundleIOError.io(path: path, operation: "create", errno: errno) }
        return FileDescriptor(fd: fd, path: path)
    }

    /// Creates `path` like ``create(_:mode:)``, for writing with direct I/O (`O_DIRECT`: the bytes
    /// go to the disk without a copy into the page cache) where the file system allows it; `direct`
    /// says whether it did. Direct writes must be whole pages from page-aligned memory at page
    /// offsets; ``endDirectWrites()`` lifts that for the last piece.
    public static func createForDirectWrites(_ path: String, mode: mode_t = 0o644) throws -> (file: FileDescriptor, direct: Bool) {
        #if os(Linux)
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | __O_DIRECT, mode)
            if fd >= 0 { return (FileDescriptor(fd: fd, path: path), true) }
            guard errno == EINVAL else { throw BundleIOError.io(path: path, operation: "create", errno: errno) }
            // The file system refuses direct I/O (it may have created the file first: O_EXCL means it was ours).
            unlink(path)
        #endif
        return (try create(path, mode: mode), false)
    }

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit { if fd >= 0 { _ = Glibc.close(fd) } }

    /// Closes the descriptor, reporting a failed close (which can mean lost writes).
    public func close() throws {
        guard fd >= 0 else { return }
        let result = Glibc.close(fd)
        fd = -1
        guard result == 0 else { throw BundleIOError.io(path: path, operation: "close", errno: errno) }
    }

    /// The file's size in bytes.
    public func size() throws -> Int64 {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw BundleIOError.io(path: path, operation: "stat", errno: errno) }
        return Int64(info.st_size)
    }

    /// What the file is now: device, inode, size, and its modification and change times.
    public func identity() throws -> FileIdentity {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw BundleIOError.io(path: path, operation: "stat", errno: errno) }
        return FileIdentity(info)
    }

    /// The file offset the next write goes to.
    public func position() throws -> Int64 {
        let offset = lseek(fd, 0, SEEK_CUR)
        guard offset >= 0 else { throw BundleIOError.io(path: path, operation: "seek", errno: errno) }
        return Int64(offset)
    }

    /// Writes all of `buffer`.
    public func writeAll(_ buffer: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < buffer.count {
            let written = write(fd, buffer.baseAddress! + done, buffer.count - done)
            if written < 0 {
                if errno == EINTR { continue }
                throw BundleIOError.io(path: path, operation: "write", errno: errno)
            }
            done += written
        }
    }

    /// Reads up to `buffer.count` bytes at `offset`; returns how many were read (0 at end of file).
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        while true {
            let count = pread(fd, buffer.baseAddress, buffer.count, off_t(offset))
            if count < 0 {
                if errno == EINTR { continue }
                throw BundleIOError.io(path: path, operation: "read", errno: errno)
            }
            return count
        }
    }

    /// Asks the kernel to start writing a range to disk without waiting for it (Linux
    /// `sync_file_range`), so a later ``sync()`` has less to flush. Advisory: failures are ignored.
    public func startWriteback(from offset: Int64, count: Int64) {
        #if os(Linux)
            _ = sync_file_range(fd, offset, count, AIRLOCK_SYNC_FILE_RANGE_WRITE)
        #endif
    }

    /// Turns direct I/O off (see ``createForDirectWrites(_:mode:)``).
    public func endDirectWrites() throws {
        #if os(Linux)
            let flags = fcntl(fd, F_GETFL)
            guard flags >= 0, fcntl(fd, F_SETFL, flags & ~__O_DIRECT) == 0 else {
                throw BundleIOError.io(path: path, operation: "end direct I/O", errno: errno)
            }
        #endif
    }

    /// Flushes written data to stable storage.
    public func sync() throws {
        guard fsync(fd) == 0 else { throw BundleIOError.io(path: path, operation: "fsync", errno: errno) }
    }
}

/// The hidden sibling a file is written to before it is renamed into place:
/// `DIR/.NAME.partial-PID`, on the same file system so the rename is atomic.
public func partialPath(for path: String) -> String {
    let url = URL(fileURLWithPath: path)
    return url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).partial-\(getpid())").path
}

/// Something read by offset: a file, or a split bundle's parts.
public protocol PositionalReader {
    /// Named in messages.
    var path: String { get }
    /// Reads up to `buffer.count` bytes at `offset`; returns how many were read (0 at the end).
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int
}

extension PositionalReader {
    /// Fills `buffer` from `offset`, reading again after short reads; returns how many bytes,
    /// fewer than `buffer.count` only at the end.
    public func fill(_ buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        var done = 0
        while done < buffer.count {
            let got = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]), at: offset + Int64(done))
            if got == 0 { break }
            done += got
        }
        return done
    }

    /// Reads up to `count` bytes at `offset` (fewer at the end).
    public func readUpTo(_ count: Int, at offset: Int64) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let done = try bytes.withUnsafeMutableBytes { try fill($0, at: offset) }
        return Array(bytes.prefix(done))
    }

    /// Reads exactly `count` bytes at `offset`, failing on a short file.
    public func readExactly(_ count: Int, at offset: Int64) throws -> [UInt8] {
        let bytes = try readUpTo(count, at: offset)
        guard bytes.count == count else { throw BundleIOError.notABundle("\(path) ends early (truncated)") }
        return bytes
    }
}

extension FileDescriptor: PositionalReader {}
