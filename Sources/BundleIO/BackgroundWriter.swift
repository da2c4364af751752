import Dispatch
import Foundation
import Signing

/// Memory for output on its way to the file: page-aligned, as direct I/O wants it.
///
/// `@unchecked Sendable`: handed from the producer to the writing queues and back, and never
/// written while they read it.
final class OutputBuffer: @unchecked Sendable {
    static let alignment = 4096
    let bytes: UnsafeMutableRawBufferPointer

    init(capacity: Int) {
        bytes = .allocate(byteCount: capacity, alignment: Self.alignment)
    }

    deinit { bytes.deallocate() }

    var count: Int { bytes.count }
}

/// Hashes and writes a file's output off the producing thread, so that producing the next buffer
/// (reading, hashing input, framing) overlaps with both. Hashing and writing run on queues of
/// their own, each in order, over the same buffers, so neither waits for the other. At most
/// ``slotCount`` buffers are in flight; a write error is reported by the next call.
///
/// A file opened for direct I/O is written in whole pages until the last buffer, which may end
/// anywhere (direct I/O is turned off for it); should the file system refuse a direct write after
/// all, writing goes on through the page cache. Otherwise every ``writebackStride`` bytes the
/// kernel is asked to start writing the file to disk (`sync_file_range`), so the `fsync` that ends
/// a bundle finds little left to flush.
///
/// `@unchecked Sendable`: `file`, `directIO`, `written` and `writtenBack` are touched only on
/// `writes`, `hasher` only on `hashes`; `failure` and `spare` are guarded by `lock`.
final class BackgroundWriter: @unchecked Sendable {
    static let slotCount = 3
    static let writebackStride: Int64 = 32 << 20

    /// Whether the buffers handed in must hold whole pages (all but the last).
    let direct: Bool
    private let file: FileDescriptor
    private var directIO: Bool
    private let hasher = SHA256Hasher()
    private let hashes = DispatchQueue(label: "airlock.bundle-hash")
    private let writes = DispatchQueue(label: "airlock.bundle-write")
    private let slots = DispatchSemaphore(value: slotCount)
    private let lock = NSLock()
    private var failure: (any Error)?
    private var spare: [OutputBuffer] = []
    private var written: Int64 = 0
    private var writtenBack: Int64 = 0

    init(file: FileDescriptor, direct: Bool) {
        self.file = file
        self.direct = direct
        directIO = direct
    }

    /// Queues the first `count` bytes of `buffer` (a whole number of pages under direct I/O,
    /// unless `last`); returns an empty buffer of the same size to fill next.
    func submit(_ buffer: OutputBuffer, count: Int, last: Bool = false) throws -> OutputBuffer {
        precondition(!direct || last || count % OutputBuffer.alignment == 0, "direct writes take whole pages")
        try rethrow()
        slots.wait()
        let done = DispatchGroup()
        hashes.async(group: done) { [self] in
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer.bytes[..<count]))
        }
        writes.async(group: done) { [self] in
            do {
                try write(UnsafeRawBufferPointer(rebasing: buffer.bytes[..<count]), last: last)
            } catch {
                lock.withLock { if failure == nil { failure = error } }
            }
        }
        done.notify(queue: writes) { [self] in
            lock.withLock { spare.append(buffer) }
            slots.signal()
        }
        return lock.withLock { spare.popLast() } ?? OutputBuffer(capacity: buffer.count)
    }

    private func write(_ bytes: UnsafeRawBufferPointer, last: Bool) throws {
        if directIO && (last || bytes.count % OutputBuffer.alignment != 0) {
            try file.endDirectWrites()
            directIO = false
        }
        do {
            try file.writeAll(bytes)
        } catch BundleIOError.io(_, _, EINVAL) where directIO {
            try file.endDirectWrites()
            directIO = false
            let done = Int(try file.position() - written)  // a short direct write may have come first
            try file.writeAll(UnsafeRawBufferPointer(rebasing: bytes[done...]))
        }
        written += Int64(bytes.count)
        if !directIO && written - writtenBack >= Self.writebackStride {
            file.startWriteback(from: writtenBack, count: written - writtenBack)
            writtenBack = written
        }
    }

    /// Waits for every queued buffer, then reports the first failure.
    func drain() throws {
        hashes.sync {}
        writes.sync {}
        try rethrow()
    }

    /// The sha256 of everything written (after ``drain()``).
    func finalizeHex() -> String {
        hashes.sync { hasher.finalizeHex() }
    }

    private func rethrow() throws {
        if let failure = lock.withLock({ failure }) { throw failure }
    }
}
