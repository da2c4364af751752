internal import CZstd
import Hashing

/// How one bundle entry is stored in its zstd frame.
public enum EntryCompression: Sendable, Equatable {
    /// Compressed at the bundle's level.
    case compress
    /// Stored in raw zstd blocks: for data that is already compressed (gzip/zstd layers), where a
    /// compression pass costs time and gains nothing. Any zstd decoder reads it.
    case store
}

/// Writes a sequence of independent zstd frames to a file, counting compressed offsets and hashing
/// every byte written (for the detached envelope's file digest).
final class ZstdFrameWriter {
    private let output: BackgroundWriter
    private let context: OpaquePointer
    private var outBuffer: OutputBuffer
    private var outCount = 0
    private(set) var offset: Int64 = 0

    private var mode: EntryCompression?
    private(set) var frameStart: Int64 = 0
    /// Uncompressed bytes fed into the current frame.
    private(set) var frameInput: Int64 = 0
    /// Where the open raw block's 3-byte header waits in `outBuffer` (stored frames are copied
    /// straight into the output buffer; the header is filled in when the block closes).
    private var rawBlockStart: Int?
    private var rawBlockFill = 0

    /// zstd's maximum block size, and the window of stored frames.
    static let rawBlockSize = 128 * 1024

    /// Under direct I/O (`output.direct`) whole pages are handed on, the rest of a buffer carried
    /// into the next.
    init(output: BundleOutput, level: Int32) throws {
        guard let context = ZSTD_createCCtx() else { throw BundleIOError.zstd(operation: "createCCtx", detail: "out of memory") }
        self.output = BackgroundWriter(output: output)
        self.context = context
        outBuffer = OutputBuffer(capacity: 8 * (3 + Self.rawBlockSize) + OutputBuffer.alignment)
        // Pinned parameters: single-threaded, no checksum (sha256 covers every entry), no content
        // size (streamed), window ≤ 2^27 so libarchive 3.6 can read it. Same inputs, same bytes.
        // (zstd's multithreaded mode, which the zstd command uses, was tried: on the bench's 63 MiB
        // text layer it compresses 1.6 % worse than this, and its job buffers add ~35 MiB of RSS.)
        try checkZstd(ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level), "set level")
        try checkZstd(ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 0), "set checksum")
        try checkZstd(ZSTD_CCtx_setParameter(context, ZSTD_c_contentSizeFlag, 0), "set content size")
        try checkZstd(ZSTD_CCtx_setParameter(context, ZSTD_c_nbWorkers, 0), "set workers")
    }

    deinit { ZSTD_freeCCtx(context) }

    /// Starts a frame.
    func beginFrame(_ compression: EntryCompression) throws {
        precondition(mode == nil, "frame already open")
        mode = compression
        frameStart = offset
        frameInput = 0
        if compression == .compress {
            ZSTD_CCtx_reset(context, ZSTD_reset_session_only)
        } else {
            // Frame header: magic, descriptor 0 (no size, no checksum, not single-segment),
            // window descriptor 0x38 = 2^17 bytes, enough for 128 KiB raw blocks.
            try append([0x28, 0xB5, 0x2F, 0xFD, 0x00, 0x38])
        }
    }

    /// Adds uncompressed bytes to the open frame.
    func write(_ buffer: UnsafeRawBufferPointer) throws {
        guard let mode else { preconditionFailure("no frame open") }
        frameInput += Int64(buffer.count)
        switch mode {
        case .compress:
            try compress(buffer, directive: ZSTD_e_continue)
        case .store:
            var rest = buffer[...]
            while !rest.isEmpty {
                if rawBlockFill == Self.rawBlockSize { closeRawBlock(last: false) }
                if rawBlockStart == nil { try openRawBlock() }
                let take = min(rest.count, Self.rawBlockSize - rawBlockFill)
                outBuffer.bytes.baseAddress!.advanced(by: outCount).copyMemory(
                    from: UnsafeRawBufferPointer(rebasing: rest).baseAddress!,
                    byteCount: take
                )
                outCount += take
                offset += Int64(take)
                rawBlockFill += take
                rest = rest.dropFirst(take)
            }
        }
    }

    /// Closes the open frame; returns its compressed size.
    @discardableResult
    func endFrame() throws -> Int64 {
        guard let mode else { preconditionFailure("no frame open") }
        switch mode {
        case .compress:
            try compress(UnsafeRawBufferPointer(start: nil, count: 0), directive: ZSTD_e_end)
        case .store:
            if rawBlockStart == nil { try openRawBlock() }
            closeRawBlock(last: true)
        }
        self.mode = nil
        return offset - frameStart
    }

    /// Writes bytes that are not part of a zstd data frame (skippable frames, copied frames).
    func writeVerbatim(_ bytes: UnsafeRawBufferPointer) throws {
        precondition(mode == nil, "frame open")
        try put(bytes)
    }

    /// Hands buffered output to the background writer (which hashes and writes it in order); under
    /// direct I/O only whole pages, the rest moving to the start of the next buffer.
    func flush() throws {
        let handed = output.direct ? outCount - outCount % OutputBuffer.alignment : outCount
        guard handed > 0 else { return }
        let full = outBuffer
        outBuffer = try output.submit(full, count: handed)
        outCount -= handed
        if outCount > 0 { outBuffer.bytes.baseAddress!.copyMemory(from: full.bytes.baseAddress! + handed, byteCount: outCount) }
    }

    /// Waits for queued writes to end (before the file is closed), ignoring their errors.
    func settle() {
        try? output.drain()
    }

    /// Flushes, waits until every byte is written, and returns the sha256 of all of them (and of
    /// each part of a split bundle).
    func finish() throws -> (sha256: String, parts: [(size: Int64, sha256: String)]) {
        if outCount > 0 {
            outBuffer = try output.submit(outBuffer, count: outCount, last: true)
            outCount = 0
        }
        try output.drain()
        return output.finalize()
    }

    /// Reserves a raw block's header in the output buffer, with room behind it for a whole block
    /// (so the buffer is never handed on with the header still unwritten).
    private func openRawBlock() throws {
        if outBuffer.count - outCount < 3 + Self.rawBlockSize { try flush() }
        rawBlockStart = outCount
        rawBlockFill = 0
        outCount += 3
        offset += 3
    }

    private func closeRawBlock(last: Bool) {
        guard let start = rawBlockStart else { preconditionFailure("no raw block open") }
        let header = UInt32(rawBlockFill) << 3 | (last ? 1 : 0)  // block type 0 = raw
        outBuffer.bytes[start] = UInt8(header & 0xff)
        outBuffer.bytes[start + 1] = UInt8((header >> 8) & 0xff)
        outBuffer.bytes[start + 2] = UInt8((header >> 16) & 0xff)
        rawBlockStart = nil
        rawBlockFill = 0
    }

    private func append(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try put($0) }
    }

    /// Copies bytes into the output buffer, flushing it when full.
    private func put(_ bytes: UnsafeRawBufferPointer) throws {
        var rest = bytes[...]
        while !rest.isEmpty {
            if outCount == outBuffer.count { try flush() }
            let take = min(rest.count, outBuffer.count - outCount)
            outBuffer.bytes.baseAddress!.advanced(by: outCount).copyMemory(
                from: UnsafeRawBufferPointer(rebasing: rest).baseAddress!,
                byteCount: take
            )
            outCount += take
            offset += Int64(take)
            rest = rest.dropFirst(take)
        }
    }

    private func compress(_ buffer: UnsafeRawBufferPointer, directive: ZSTD_EndDirective) throws {
        var input = ZSTD_inBuffer(src: buffer.baseAddress, size: buffer.count, pos: 0)
        while true {
            if outCount == outBuffer.count { try flush() }
            let start = outCount
            let out = outBuffer.bytes
            var output = ZSTD_outBuffer(dst: out.baseAddress! + start, size: out.count - start, pos: 0)
            let remaining = ZSTD_compressStream2(context, &output, &input, directive)
            try checkZstd(remaining, "compress")
            outCount += output.pos
            offset += Int64(output.pos)
            let inputDone = input.pos == input.size
            if directive == ZSTD_e_end ? remaining == 0 : inputDone { return }
        }
    }
}

/// Throws the zstd error behind `code`, if it is one.
func checkZstd(_ code: Int, _ operation: String) throws {
    if ZSTD_isError(code) != 0 {
        throw BundleIOError.zstd(operation: operation, detail: String(cString: ZSTD_getErrorName(code)))
    }
}
