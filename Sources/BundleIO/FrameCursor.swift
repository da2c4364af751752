internal import CZstd

/// Pull-based reading of one entry's data through the seek index: each read fills the caller's
/// memory with the entry's next bytes, straight into it. A frame of raw blocks (pack stores
/// already-compressed layers so) is read block by block from the file with no decoder in between;
/// any other frame goes through zstd, the tar header before the data to a small scratch buffer and
/// the padding after it never decompressed. Should a frame that starts with raw blocks hold another
/// kind later, zstd takes over from the frame's start. One owner, one task at a time.
public final class FrameCursor {
    private enum Mode {
        /// Nothing read yet.
        case undecided
        /// Raw blocks, read from the file: the next unread byte of the open block, and how many are left in it.
        case raw(offset: Int64, left: Int, last: Bool)
        case zstd
    }

    private let file: BundleFile
    private let entry: SeekIndex.Entry
    private let context: OpaquePointer
    private var mode = Mode.undecided
    private var input: [UInt8]
    private var inputCount = 0
    private var inputPosition = 0
    private var fileOffset: Int64
    /// The most bytes ``next()`` returns at a time.
    private let chunkSize: Int
    /// Uncompressed bytes of the frame produced (or passed over) so far.
    private var produced: Int64 = 0
    /// What zstd produces below this is thrown away: the tar header, or after a switch to zstd,
    /// what the raw blocks already gave.
    private var discardUntil: Int64
    private var frameEnded = false

    /// `chunkSize` bounds the pieces ``next()`` returns and the compressed bytes read at a time.
    public init(file: BundleFile, entry: SeekIndex.Entry, chunkSize: Int = 1 << 20) throws {
        self.file = file
        guard let context = ZSTD_createDCtx() else { throw BundleIOError.zstd(operation: "createDCtx", detail: "out of memory") }
        self.context = context
        self.entry = entry
        self.chunkSize = chunkSize
        fileOffset = entry.offset
        discardUntil = entry.headerSize
        input = [UInt8](repeating: 0, count: chunkSize)
    }

    deinit { ZSTD_freeDCtx(context) }

    /// The next piece of the entry's data (at most `chunkSize` bytes), or nil once all of it was returned.
    public func next() throws -> [UInt8]? {
        let piece = try [UInt8](unsafeUninitializedCapacity: chunkSize) { buffer, count in
            count = try read(into: UnsafeMutableRawBufferPointer(buffer))
        }
        return piece.isEmpty ? nil : piece
    }

    /// Fills `buffer` with the entry's next bytes; returns how many, fewer only at the entry's end
    /// (0 once all of it was read).
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if case .undecided = mode { mode = try firstBlockIsRaw() ?? .zstd }
        if case .raw = mode { return try readRaw(into: buffer) }
        return try readDecoded(into: buffer)
    }

    private var frameEnd: Int64 { entry.offset + entry.compressedSize }
    private var dataEnd: Int64 { entry.headerSize + entry.size }

    private func sizeMismatch() -> BundleIOError {
        .sizeMismatch(path: entry.path, expected: entry.size, actual: max(0, produced - entry.headerSize))
    }

    // MARK: raw blocks

    /// After the frame header (RFC 8878 §3.1.1.1), the first block's when it is raw; nil otherwise.
    private func firstBlockIsRaw() throws -> Mode? {
        let header = try file.readUpTo(Int(min(18, entry.compressedSize)), at: entry.offset)
        let count = header.count
        guard count >= 5, header[0] == 0x28, header[1] == 0xB5, header[2] == 0x2F, header[3] == 0xFD else { return nil }
        let descriptor = header[4]
        let singleSegment = descriptor & 0x20 != 0
        let dictionaryBytes = [0, 1, 2, 4][Int(descriptor & 0x03)]
        let contentSizeBytes = [singleSegment ? 1 : 0, 2, 4, 8][Int(descriptor >> 6)]
        let blockStart = 5 + (singleSegment ? 0 : 1) + dictionaryBytes + contentSizeBytes
        guard blockStart + 3 <= count else { return nil }
        return try rawBlock(headerBytes: Array(header[blockStart..<(blockStart + 3)]), at: entry.offset + Int64(blockStart))
    }

    /// The block whose 3-byte header is `headerBytes` (found at `offset`), when it is raw and fits the frame.
    private func rawBlock(headerBytes: [UInt8], at offset: Int64) throws -> Mode? {
        let header = Int(headerBytes[0]) | Int(headerBytes[1]) << 8 | Int(headerBytes[2]) << 16
        guard (header >> 1) & 0x03 == 0 else { return nil }
        let size = header >> 3
        guard offset + 3 + Int64(size) <= frameEnd else {
            throw BundleIOError.notABundle("\(file.path): the frame of \(entry.path) ends inside a block")
        }
        return .raw(offset: offset + 3, left: size, last: header & 1 != 0)
    }

    private func readRaw(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var written = 0
        while written < buffer.count, produced < dataEnd {
            guard case .raw(var offset, var left, let last) = mode else { break }
            if left == 0 {
                guard !last, offset + 3 <= frameEnd else { throw sizeMismatch() }
                let headerBytes = try file.readUpTo(3, at: offset)
                guard headerBytes.count == 3 else { throw sizeMismatch() }
                guard let next = try rawBlock(headerBytes: headerBytes, at: offset) else {
                    try switchToZstd()
                    return written + (try readDecoded(into: UnsafeMutableRawBufferPointer(rebasing: buffer[written...])))
                }
                mode = next
                continue
            }
            if produced < entry.headerSize {  // the tar header: passed over, never read
                let skip = Int(min(Int64(left), entry.headerSize - produced))
                (offset, left, produced) = (offset + Int64(skip), left - skip, produced + Int64(skip))
                mode = .raw(offset: offset, left: left, last: last)
                continue
            }
            let want = Int(min(Int64(min(left, buffer.count - written)), dataEnd - produced))
            let count = try file.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[written..<(written + want)]), at: offset)
            guard count > 0 else { throw BundleIOError.notABundle("\(file.path) ends inside the frame of \(entry.path)") }
            written += count
            produced += Int64(count)
            mode = .raw(offset: offset + Int64(count), left: left - count, last: last)
        }
        return written
    }

    /// A later block is not raw: zstd decodes the frame from its start, and what the raw blocks
    /// gave is passed over.
    private func switchToZstd() throws {
        try checkZstd(ZSTD_DCtx_reset(context, ZSTD_reset_session_only), "reset \(entry.path)")
        mode = .zstd
        discardUntil = max(produced, entry.headerSize)
        produced = 0
        fileOffset = entry.offset
        (inputCount, inputPosition, frameEnded) = (0, 0, false)
    }

    // MARK: zstd

    private func readDecoded(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if produced < discardUntil {
            var scratch = [UInt8](repeating: 0, count: Int(min(discardUntil - produced, 64 << 10)))
            while produced < discardUntil {
                let want = Int(min(Int64(scratch.count), discardUntil - produced))
                produced += Int64(
                    try scratch.withUnsafeMutableBytes { try decompress(into: UnsafeMutableRawBufferPointer(rebasing: $0[..<want])) }
                )
            }
        }
        var written = 0
        while written < buffer.count, produced < dataEnd {
            let want = Int(min(Int64(buffer.count - written), dataEnd - produced))
            let count = try decompress(into: UnsafeMutableRawBufferPointer(rebasing: buffer[written..<(written + want)]))
            written += count
            produced += Int64(count)
        }
        return written
    }

    /// Decompresses into `output` (not empty) until something was produced, reading more of the
    /// frame as needed; returns how many bytes.
    private func decompress(into output: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            if inputPosition == inputCount {
                guard !frameEnded, fileOffset < frameEnd else { throw sizeMismatch() }
                let want = Int(min(Int64(input.count), frameEnd - fileOffset))
                inputCount = try input.withUnsafeMutableBytes {
                    try file.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[..<want]), at: fileOffset)
                }
                guard inputCount > 0 else { throw BundleIOError.notABundle("\(file.path) ends inside the frame of \(entry.path)") }
                fileOffset += Int64(inputCount)
                inputPosition = 0
            }
            let count = try input.withUnsafeBytes { inBytes in
                var inBuffer = ZSTD_inBuffer(src: inBytes.baseAddress! + inputPosition, size: inputCount - inputPosition, pos: 0)
                var outBuffer = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
                let result = ZSTD_decompressStream(context, &outBuffer, &inBuffer)
                try checkZstd(result, "decompress \(entry.path)")
                if result == 0 { frameEnded = true }
                inputPosition += inBuffer.pos
                return outBuffer.pos
            }
            if count > 0 { return count }
            if frameEnded { throw sizeMismatch() }
        }
    }
}
