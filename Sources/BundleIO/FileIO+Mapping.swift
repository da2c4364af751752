import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads a file through read-only mappings, one window at a time, unmapped as reading moves on.
/// Hashing and copying then work on the page cache's own pages: one copy fewer than `pread`, and
/// resident memory stays at one window however large the file is. Each window is mapped with its
/// pages already in place (`MAP_POPULATE`): one call instead of a page fault per few pages.
public final class MappedWindows {
    /// 16 MiB windows (a multiple of every page size in use).
    public static let windowSize = 16 << 20

    private let file: FileDescriptor
    private var mapped: (base: UnsafeMutableRawPointer, length: Int)?
    /// The file's offset of the next byte ``next()`` returns.
    public private(set) var offset: Int64

    public init(_ file: FileDescriptor, from offset: Int64 = 0) {
        self.file = file
        self.offset = offset
        posix_fadvise(file.fd, off_t(offset), 0, POSIX_FADV_SEQUENTIAL)
    }

    deinit { unmap() }

    /// The next stretch of the file (up to the end of the current window), or an empty buffer at
    /// the end of the file. The previous stretch is invalid once this is called again.
    public func next() throws -> UnsafeRawBufferPointer {
        unmap()
        let size = try file.size()
        guard offset < size else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        let windowStart = offset - offset % Int64(Self.windowSize)
        let length = Int(min(Int64(Self.windowSize), size - windowStart))
        guard let base = mmap(nil, length, PROT_READ, MAP_SHARED | MAP_POPULATE, file.fd, off_t(windowStart)), base != MAP_FAILED else {
            throw BundleIOError.io(path: file.path, operation: "mmap", errno: errno)
        }
        madvise(base, length, MADV_SEQUENTIAL)
        madvise(base, length, MADV_WILLNEED)
        // Start reading the window after this one, so the disk works while this one is processed.
        posix_fadvise(file.fd, off_t(windowStart + Int64(length)), off_t(Self.windowSize), POSIX_FADV_WILLNEED)
        mapped = (base, length)
        let skip = Int(offset - windowStart)
        offset = windowStart + Int64(length)
        return UnsafeRawBufferPointer(start: base + skip, count: length - skip)
    }

    private func unmap() {
        if let mapped { munmap(mapped.base, mapped.length) }
        mapped = nil
    }
}

extension FileDescriptor {
    /// Streams the whole file in chunks of at most `chunk` bytes, through ``MappedWindows``.
    public func forEachChunk(chunk: Int = 1 << 20, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let windows = MappedWindows(self)
        while true {
            let window = try windows.next()
            if window.isEmpty { return }
            var start = 0
            while start < window.count {
                let end = min(start + chunk, window.count)
                try body(UnsafeRawBufferPointer(rebasing: window[start..<end]))
                start = end
            }
        }
    }
}
