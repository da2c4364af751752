import Dispatch
import Foundation
import Signing

/// Hashes and writes a file's output on a second thread, so that producing the next buffer
/// (reading, hashing input, framing) overlaps with hashing and writing the last one. At most
/// two buffers wait; a write error is reported by the next call.
///
/// `@unchecked Sendable`: `file` and `hasher` are touched only on `queue`; `failure` and `spare`
/// are guarded by `lock`.
final class BackgroundWriter: @unchecked Sendable {
    private let file: FileDescriptor
    private let hasher = SHA256Hasher()
    private let queue = DispatchQueue(label: "airlock.bundle-writer")
    private let slots = DispatchSemaphore(value: 2)
    private let lock = NSLock()
    private var failure: (any Error)?
    private var spare: [[UInt8]] = []

    init(file: FileDescriptor) {
        self.file = file
    }

    /// Queues the first `count` bytes of `buffer`; returns an empty buffer of the same size to fill next.
    func submit(_ buffer: [UInt8], count: Int) throws -> [UInt8] {
        try rethrow()
        slots.wait()
        queue.async { [self] in
            do {
                try buffer.withUnsafeBytes { all in
                    let filled = UnsafeRawBufferPointer(rebasing: all[..<count])
                    hasher.update(filled)
                    try file.writeAll(filled)
                }
            } catch {
                lock.withLock { if failure == nil { failure = error } }
            }
            lock.withLock { spare.append(buffer) }
            slots.signal()
        }
        return lock.withLock { spare.popLast() } ?? [UInt8](repeating: 0, count: buffer.count)
    }

    /// Waits for every queued buffer, then reports the first failure.
    func drain() throws {
        queue.sync {}
        try rethrow()
    }

    /// The sha256 of everything written (after ``drain()``).
    func finalizeHex() -> String {
        queue.sync { hasher.finalizeHex() }
    }

    private func rethrow() throws {
        if let failure = lock.withLock({ failure }) { throw failure }
    }
}
