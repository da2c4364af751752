import Dispatch
import Foundation
import Signing

/// Hashes and writes a file's output off the producing thread, so that producing the next buffer
/// (reading, hashing input, framing) overlaps with both. Hashing and writing run on queues of
/// their own, each in order, over the same buffers, so neither waits for the other. At most
/// ``slotCount`` buffers are in flight; a write error is reported by the next call.
///
/// Every ``writebackStride`` bytes the kernel is asked to start writing the file to disk
/// (`sync_file_range`), so the `fsync` that ends a bundle finds little left to flush.
///
/// `@unchecked Sendable`: `file` and `written` are touched only on `writes`, `hasher` only on
/// `hashes`; `failure` and `spare` are guarded by `lock`.
final class BackgroundWriter: @unchecked Sendable {
    static let slotCount = 3
    static let writebackStride: Int64 = 32 << 20

    private let file: FileDescriptor
    private let hasher = SHA256Hasher()
    private let hashes = DispatchQueue(label: "airlock.bundle-hash")
    private let writes = DispatchQueue(label: "airlock.bundle-write")
    private let slots = DispatchSemaphore(value: slotCount)
    private let lock = NSLock()
    private var failure: (any Error)?
    private var spare: [[UInt8]] = []
    private var written: Int64 = 0
    private var writtenBack: Int64 = 0

    init(file: FileDescriptor) {
        self.file = file
    }

    /// Queues the first `count` bytes of `buffer`; returns an empty buffer of the same size to fill next.
    func submit(_ buffer: [UInt8], count: Int) throws -> [UInt8] {
        try rethrow()
        slots.wait()
        let done = DispatchGroup()
        hashes.async(group: done) { [self] in
            buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
        }
        writes.async(group: done) { [self] in
            do {
                try buffer.withUnsafeBytes { try file.writeAll(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
                written += Int64(count)
                if written - writtenBack >= Self.writebackStride {
                    file.startWriteback(from: writtenBack, count: written - writtenBack)
                    writtenBack = written
                }
            } catch {
                lock.withLock { if failure == nil { failure = error } }
            }
        }
        done.notify(queue: writes) { [self] in
            lock.withLock { spare.append(buffer) }
            slots.signal()
        }
        return lock.withLock { spare.popLast() } ?? [UInt8](repeating: 0, count: buffer.count)
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
