import BundleIO
import Foundation
import Hashing
import NIOCore
import OCI
import Registry

/// One blob being pulled from a registry. Its bytes are hashed as they arrive; ``finish()`` checks
/// the digest and, when the blob is kept, moves it into the content store under that digest.
///
/// The bundle writer reads the blob while it downloads (``drain(_:)``): a kept blob from the file
/// the download writes, a blob that is not kept from the chunks themselves, handed over in memory,
/// so that a byte pulled only for the bundle is written to disk once. At most ``handoffLimit``
/// bytes of buffers (counted by capacity: a socket read may fill a fraction of its buffer) wait
/// for the writer; beyond that the download waits (and, behind it, the registry's
/// connection), so downloads that run ahead of the writer cost memory, never disk.
///
/// `@unchecked Sendable`: the state the download and the writer share is guarded by `condition`;
/// `hasher` and `file` are used by the download alone (outside the lock), which writes its chunks
/// one after another.
final class BlobFeed: BlobSink, @unchecked Sendable {
    let digest: Digest
    let size: Int64
    /// Whether the blob stays in the store after the pack.
    let keep: Bool
    /// The blob, for messages.
    let what: String

    static let handoffLimit = 4 << 20

    private enum State {
        case downloading
        case verified
        case failed(any Error)
    }

    private let store: ContentStore
    private let temporary: String
    private let condition = NSCondition()
    private let hasher = SHA256Hasher()
    /// The download's file and a second descriptor to read it, for a kept blob.
    private var file: BundleIO.FileDescriptor?
    private let reader: BundleIO.FileDescriptor?
    private var state = State.downloading
    private var received: Int64 = 0
    /// Bytes in the download's file.
    private var written: Int64 = 0
    private var head: [UInt8] = []
    private var handed: [ByteBuffer] = []
    private var handedBytes = 0
    private var roomWaiter: CheckedContinuation<Void, Never>?

    init(store: ContentStore, digest: Digest, size: Int64, keep: Bool, what: String) throws {
        self.store = store
        self.digest = digest
        self.size = size
        self.keep = keep
        self.what = what
        temporary = "\(store.root)/tmp/\(UUID().uuidString)"
        guard keep else {
            reader = nil
            return
        }
        let file = try BundleIO.FileDescriptor.create(temporary)
        do {
            reader = try BundleIO.FileDescriptor.openForReading(temporary)
        } catch {
            try? file.close()
            unlink(temporary)
            throw error
        }
        self.file = file
    }

    deinit {
        try? file?.close()
        try? reader?.close()
        if keep { unlink(temporary) }  // gone already once the blob is in the store
    }

    // MARK: The download's side

    func offset() async throws -> Int64 { condition.withLock { received } }

    func write(_ buffer: ByteBuffer) async throws {
        if !keep, condition.withLock({ handedBytes >= Self.handoffLimit }) {
            await withCheckedContinuation { continuation in
                condition.withLock {
                    if case .downloading = state, handedBytes >= Self.handoffLimit {
                        roomWaiter = continuation
                    } else {
                        continuation.resume()
                    }
                }
            }
        }
        try buffer.withUnsafeReadableBytes { bytes in
            try condition.withLock {
                if case .failed(let error) = state { throw error }
                guard received + Int64(bytes.count) <= size else {
                    throw PackError.longerThanDeclared(what: what, size: size)
                }
                received += Int64(bytes.count)
                if head.count < 8 { head += bytes.prefix(8 - head.count) }
            }
            hasher.update(bytes)
            if let file {
                try file.writeAll(bytes)
                condition.withLock {
                    written += Int64(bytes.count)
                    condition.broadcast()
                }
            } else {
                condition.withLock {
                    handed.append(buffer)
                    handedBytes += buffer.capacity
                    condition.broadcast()
                }
            }
        }
    }

    /// Ends a complete download: checks size and digest, and moves a kept blob into the store.
    func finish() throws {
        try condition.withLock {
            defer { condition.broadcast() }
            do {
                try file?.close()
                file = nil
                let actual = hasher.finalizeHex()
                guard received == size, actual == digest.encoded else {
                    throw PackError.damagedDownload(what: what, received: received, actual: actual, size: size, digest: "\(digest)")
                }
                if keep, rename(temporary, store.path(of: digest)) != 0 {
                    throw AirlockError.io("cannot write to the cache \(store.root): \(String(cString: strerror(errno)))")
                }
                state = .verified
            } catch {
                state = .failed(error)
                throw error
            }
        }
    }

    /// Stops the feed: the writer and a download waiting for room hear `error`.
    func fail(_ error: any Error) {
        let waiter: CheckedContinuation<Void, Never>? = condition.withLock {
            if case .downloading = state { state = .failed(error) }
            condition.broadcast()
            defer { roomWaiter = nil }
            return roomWaiter
        }
        waiter?.resume()
    }

    // MARK: The writer's side

    /// The blob's first bytes (up to 8), once they have arrived.
    func firstBytes() throws -> [UInt8] {
        try condition.withLock {
            while head.count < min(8, Int(size)) {
                if case .failed(let error) = state { throw error }
                condition.wait()
            }
            return head
        }
    }

    /// Hands the whole blob to `body` as it arrives; returns once its digest has checked out.
    func drain(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        enum Step {
            case read(upTo: Int64)
            case chunk(ByteBuffer, wake: CheckedContinuation<Void, Never>?)
            case done
        }
        var offset: Int64 = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let step: Step = try condition.withLock {
                while true {
                    if offset < written { return .read(upTo: written) }
                    if !handed.isEmpty {
                        let chunk = handed.removeFirst()
                        handedBytes -= chunk.capacity
                        var wake: CheckedContinuation<Void, Never>?
                        if handedBytes < Self.handoffLimit { (wake, roomWaiter) = (roomWaiter, nil) }
                        return .chunk(chunk, wake: wake)
                    }
                    switch state {
                    case .failed(let error): throw error
                    case .verified: return .done
                    case .downloading: break
                    }
                    condition.wait()
                }
            }
            switch step {
            case .read(let end):
                guard let reader else { preconditionFailure("bytes written for a blob that is not kept") }
                while offset < end {
                    let want = Int(min(Int64(buffer.count), end - offset))
                    let got = try buffer.withUnsafeMutableBytes {
                        try reader.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[..<want]), at: offset)
                    }
                    guard got > 0 else { throw PackError.downloadEndedEarly(what: what, file: temporary) }
                    try buffer.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[..<got])) }
                    offset += Int64(got)
                }
            case .chunk(let chunk, let wake):
                wake?.resume()
                try chunk.withUnsafeReadableBytes { try body($0) }
            case .done:
                return
            }
        }
    }
}

/// The blobs a pack pulls while its bundle is written: the writer waits until a blob's download
/// has started, then drains it. A failure on either side stops every feed.
///
/// `@unchecked Sendable`: its state is guarded by `condition`.
final class Pulls: @unchecked Sendable {
    private let condition = NSCondition()
    private let pending: Set<Digest>
    private var feeds: [Digest: BlobFeed] = [:]
    private var failure: (any Error)?

    init(pending: Set<Digest>) {
        self.pending = pending
    }

    func started(_ feed: BlobFeed) {
        condition.withLock {
            if let failure { feed.fail(failure) }
            feeds[feed.digest] = feed
            condition.broadcast()
        }
    }

    func fail(_ error: any Error) {
        let all: [BlobFeed] = condition.withLock {
            if failure == nil { failure = error }
            condition.broadcast()
            return Array(feeds.values)
        }
        for feed in all { feed.fail(error) }
    }

    /// The feed of a blob this pack pulls, once its download has started; nil for other blobs.
    func feed(for digest: Digest) throws -> BlobFeed? {
        guard pending.contains(digest) else { return nil }
        return try condition.withLock {
            while true {
                if let failure { throw failure }
                if let feed = feeds[digest] { return feed }
                condition.wait()
            }
        }
    }

    /// Forgets a blob the writer has written.
    func written(_ digest: Digest) {
        condition.withLock { _ = feeds.removeValue(forKey: digest) }
    }
}
