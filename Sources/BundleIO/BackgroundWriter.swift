import Dispatch
import Foundation
import Hashing

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

    /// The first `count` bytes.
    func prefix(_ count: Int) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[..<count]) }
}

/// Hashes and writes a bundle's output off the producing thread, so that producing the next buffer
/// (reading, hashing input, framing) overlaps with both. Hashing and writing run on queues of
/// their own, each in order, over the same buffers, so neither waits for the other; a split
/// bundle's parts are hashed on a third. At most ``slotCount`` buffers are in flight; a write error
/// is reported by the next call.
///
/// Output opened for direct I/O is written in whole pages until the last buffer, which may end
/// anywhere (direct I/O is turned off for it); should the file system refuse a direct write after
/// all, writing goes on through the page cache. Otherwise every 32 MiB the kernel is asked to start
/// writing the file to disk (`sync_file_range`), so the `fsync` that ends a bundle finds little left.
///
/// `@unchecked Sendable`: `output` is touched only on `writes`, `hasher` only on `hashes`, the part
/// hashes only on `partHashes`; `failure` and `spare` are guarded by `lock`.
final class BackgroundWriter: @unchecked Sendable {
    static let slotCount = 3

    /// Whether the buffers handed in must hold whole pages (all but the last).
    let direct: Bool
    private let output: BundleOutput
    private let hasher = SHA256Hasher()
    private let parts: PartHashes?
    private let hashes = DispatchQueue(label: "airlock.bundle-hash")
    private let partHashes = DispatchQueue(label: "airlock.part-hash")
    private let writes = DispatchQueue(label: "airlock.bundle-write")
    private let slots = DispatchSemaphore(value: slotCount)
    private let lock = NSLock()
    private var failure: (any Error)?
    private var spare: [OutputBuffer] = []

    init(output: BundleOutput) {
        self.output = output
        direct = output.direct
        parts = output.partSize.map(PartHashes.init)
    }

    /// Queues the first `count` bytes of `buffer` (a whole number of pages under direct I/O,
    /// unless `last`); returns an empty buffer of the same size to fill next.
    func submit(_ buffer: OutputBuffer, count: Int, last: Bool = false) throws -> OutputBuffer {
        precondition(!direct || last || count % OutputBuffer.alignment == 0, "direct writes take whole pages")
        try rethrow()
        slots.wait()
        let done = DispatchGroup()
        hashes.async(group: done) { [self] in hasher.update(buffer.prefix(count)) }
        if let parts { partHashes.async(group: done) { parts.update(buffer.prefix(count)) } }
        writes.async(group: done) { [self] in
            do {
                try output.write(buffer.prefix(count), last: last)
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

    /// Waits for every queued buffer, then reports the first failure.
    func drain() throws {
        hashes.sync {}
        partHashes.sync {}
        writes.sync {}
        try rethrow()
    }

    /// The sha256 of everything written, and of each part of a split bundle (after ``drain()``).
    func finalize() -> (sha256: String, parts: [(size: Int64, sha256: String)]) {
        let whole = hashes.sync { hasher.finalizeHex() }
        return (whole, partHashes.sync { parts?.finalize() ?? [] })
    }

    private func rethrow() throws {
        if let failure = lock.withLock({ failure }) { throw failure }
    }
}

/// The sha256 and size of each part, fed the bundle's bytes in order.
///
/// `@unchecked Sendable`: used only on the background writer's `partHashes` queue.
final class PartHashes: @unchecked Sendable {
    private let partSize: Int64
    private var current = SHA256Hasher()
    private var currentSize: Int64 = 0
    private var done: [(size: Int64, sha256: String)] = []

    init(partSize: Int64) { self.partSize = partSize }

    func update(_ bytes: UnsafeRawBufferPointer) {
        var rest = bytes[...]
        while !rest.isEmpty {
            if currentSize == partSize {
                done.append((currentSize, current.finalizeHex()))
                (current, currentSize) = (SHA256Hasher(), 0)
            }
            let take = Int(min(Int64(rest.count), partSize - currentSize))
            current.update(UnsafeRawBufferPointer(rebasing: rest.prefix(take)))
            currentSize += Int64(take)
            rest = rest.dropFirst(take)
        }
    }

    func finalize() -> [(size: Int64, sha256: String)] {
        if currentSize > 0 || done.isEmpty { done.append((currentSize, current.finalizeHex())) }
        currentSize = 0
        return done
    }
}
