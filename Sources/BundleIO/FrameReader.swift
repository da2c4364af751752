internal import CZstd

/// Random access to one entry of a bundle through the seek index: decompresses only that entry's
/// frame. The caller checks the bytes against the signed digest.
public final class FrameReader {
    private let file: FileDescriptor
    public let index: SeekIndex

    public init(path: String) throws {
        file = try FileDescriptor.openForReading(path)
        index = try SeekIndex.read(from: file)
    }

    /// The index entry for `path`, if the index lists it.
    public func entry(_ path: String) -> SeekIndex.Entry? {
        index.entries.first { $0.path == path }
    }

    /// Streams the data of `entry` to `body`.
    public func read(_ entry: SeekIndex.Entry, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard let context = ZSTD_createDCtx() else { throw BundleIOError.zstd(operation: "createDCtx", detail: "out of memory") }
        defer { ZSTD_freeDCtx(context) }
        var input = [UInt8](repeating: 0, count: 1 << 20)
        var output = [UInt8](repeating: 0, count: 1 << 20)
        var position = entry.offset
        let end = entry.offset + entry.compressedSize
        var produced: Int64 = 0  // uncompressed bytes of the frame so far
        let dataEnd = entry.headerSize + entry.size
        var frameDone = false
        while position < end && produced < dataEnd && !frameDone {
            let want = Int(min(Int64(input.count), end - position))
            let got = try input.withUnsafeMutableBytes {
                try file.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[..<want]), at: position)
            }
            guard got > 0 else { throw BundleIOError.notABundle("\(file.path) ends inside the frame of \(entry.path)") }
            position += Int64(got)
            try input.withUnsafeBytes { inBytes in
                var inBuffer = ZSTD_inBuffer(src: inBytes.baseAddress, size: got, pos: 0)
                while inBuffer.pos < inBuffer.size && produced < dataEnd {
                    let count = try output.withUnsafeMutableBytes { outBytes -> Int in
                        var outBuffer = ZSTD_outBuffer(dst: outBytes.baseAddress, size: outBytes.count, pos: 0)
                        let result = ZSTD_decompressStream(context, &outBuffer, &inBuffer)
                        try checkZstd(result, "decompress \(entry.path)")
                        if result == 0 { frameDone = true }
                        return outBuffer.pos
                    }
                    try deliver(output, count: count, frameOffset: produced, entry: entry, body)
                    produced += Int64(count)
                    if frameDone { break }
                }
            }
        }
        guard produced >= dataEnd else {
            throw BundleIOError.sizeMismatch(path: entry.path, expected: entry.size, actual: max(0, produced - entry.headerSize))
        }
    }

    /// Passes on the part of a decompressed chunk that lies inside the entry's data.
    private func deliver(_ chunk: [UInt8], count: Int, frameOffset: Int64, entry: SeekIndex.Entry,
                         _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let chunkStart = frameOffset
        let chunkEnd = frameOffset + Int64(count)
        let start = max(chunkStart, entry.headerSize)
        let end = min(chunkEnd, entry.headerSize + entry.size)
        guard start < end else { return }
        try chunk.withUnsafeBytes { bytes in
            try body(UnsafeRawBufferPointer(rebasing: bytes[Int(start - chunkStart)..<Int(end - chunkStart)]))
        }
    }
}
