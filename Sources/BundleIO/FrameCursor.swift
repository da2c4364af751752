internal import CZstd

/// Pull-based reading of one entry's data through the seek index: each ``next()`` decompresses
/// just enough of the entry's frame to return the next chunk. One owner, one task at a time.
public final class FrameCursor {
    private let file: BundleFile
    private let entry: SeekIndex.Entry
    private let context: OpaquePointer
    private var input: [UInt8]
    private var inputCount = 0
    private var inputPosition = 0
    private var fileOffset: Int64
    private var output: [UInt8]
    /// Uncompressed bytes of the frame produced so far.
    private var produced: Int64 = 0
    private var frameEnded = false

    /// `chunkSize` bounds the pieces ``next()`` returns and the compressed bytes read at a time.
    public init(file: BundleFile, entry: SeekIndex.Entry, chunkSize: Int = 1 << 20) throws {
        self.file = file
        guard let context = ZSTD_createDCtx() else { throw BundleIOError.zstd(operation: "createDCtx", detail: "out of memory") }
        self.context = context
        self.entry = entry
        fileOffset = entry.offset
        input = [UInt8](repeating: 0, count: chunkSize)
        output = [UInt8](repeating: 0, count: chunkSize)
    }

    deinit { ZSTD_freeDCtx(context) }

    /// The next piece of the entry's data, or nil once all of it was returned.
    public func next() throws -> [UInt8]? {
        let dataStart = entry.headerSize
        let dataEnd = entry.headerSize + entry.size
        while produced < dataEnd {
            if inputPosition == inputCount {
                guard !frameEnded, fileOffset < entry.offset + entry.compressedSize else {
                    throw BundleIOError.sizeMismatch(path: entry.path, expected: entry.size, actual: max(0, produced - dataStart))
                }
                let want = Int(min(Int64(input.count), entry.offset + entry.compressedSize - fileOffset))
                inputCount = try input.withUnsafeMutableBytes {
                    try file.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[..<want]), at: fileOffset)
                }
                guard inputCount > 0 else { throw BundleIOError.notABundle("\(file.path) ends inside the frame of \(entry.path)") }
                fileOffset += Int64(inputCount)
                inputPosition = 0
            }
            let (count, consumed) = try decompressStep()
            inputPosition += consumed
            let chunkStart = produced
            produced += Int64(count)
            let start = max(chunkStart, dataStart)
            let end = min(produced, dataEnd)
            if start < end {
                return Array(output[Int(start - chunkStart)..<Int(end - chunkStart)])
            }
        }
        return nil
    }

    private func decompressStep() throws -> (produced: Int, consumed: Int) {
        try input.withUnsafeBytes { inBytes in
            try output.withUnsafeMutableBytes { outBytes in
                var inBuffer = ZSTD_inBuffer(src: inBytes.baseAddress! + inputPosition, size: inputCount - inputPosition, pos: 0)
                var outBuffer = ZSTD_outBuffer(dst: outBytes.baseAddress, size: outBytes.count, pos: 0)
                let result = ZSTD_decompressStream(context, &outBuffer, &inBuffer)
                try checkZstd(result, "decompress \(entry.path)")
                if result == 0 { frameEnded = true }
                return (outBuffer.pos, inBuffer.pos)
            }
        }
    }
}
