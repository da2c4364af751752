internal import CZstd

/// Pull-based reading of one entry's data through the seek index: each read decompresses just
/// enough of the entry's frame to fill the caller's memory, straight into it (the tar header
/// before the data goes to a small scratch buffer, the padding after it is never decompressed).
/// One owner, one task at a time.
public final class FrameCursor {
    private let file: BundleFile
    private let entry: SeekIndex.Entry
    private let context: OpaquePointer
    private var input: [UInt8]
    private var inputCount = 0
    private var inputPosition = 0
    private var fileOffset: Int64
    /// The most bytes ``next()`` returns at a time.
    private let chunkSize: Int
    /// Uncompressed bytes of the frame produced so far.
    private var produced: Int64 = 0
    private var frameEnded = false

    /// `chunkSize` bounds the pieces ``next()`` returns and the compressed bytes read at a time.
    public init(file: BundleFile, entry: SeekIndex.Entry, chunkSize: Int = 1 << 20) throws {
        self.file = file
        guard let context = ZSTD_createDCtx() else { throw BundleIOError.zstd(operation: "createDCtx", detail: "out of memory") }
        self.context = context
        self.entry = entry
        self.chunkSize = chunkSize
        fileOffset = entry.offset
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
        let dataStart = entry.headerSize
        let dataEnd = entry.headerSize + entry.size
        if produced < dataStart {
            var scratch = [UInt8](repeating: 0, count: Int(min(dataStart - produced, 64 << 10)))
            while produced < dataStart {
                let want = Int(min(Int64(scratch.count), dataStart - produced))
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
                guard !frameEnded, fileOffset < entry.offset + entry.compressedSize else {
                    throw BundleIOError.sizeMismatch(path: entry.path, expected: entry.size, actual: max(0, produced - entry.headerSize))
                }
                let want = Int(min(Int64(input.count), entry.offset + entry.compressedSize - fileOffset))
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
            if frameEnded {
                throw BundleIOError.sizeMismatch(path: entry.path, expected: entry.size, actual: max(0, produced - entry.headerSize))
            }
        }
    }
}
