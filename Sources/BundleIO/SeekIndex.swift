import Foundation

/// Where each entry's zstd frame sits in the bundle file. Stored in a zstd skippable frame at the
/// end of the bundle (stock decoders skip it). It is *not* trusted: whatever is read through it is
/// checked against the signed digests.
public struct SeekIndex: Codable, Sendable, Equatable {
    /// One entry's frame.
    public struct Entry: Codable, Sendable, Equatable {
        /// The entry's path in the tar.
        public var path: String
        /// Offset of the frame in the bundle file.
        public var offset: Int64
        /// Compressed size of the frame.
        public var compressedSize: Int64
        /// Uncompressed bytes of tar header(s) before the entry's data, within the frame.
        public var headerSize: Int64
        /// Size of the entry's data.
        public var size: Int64

        public init(path: String, offset: Int64, compressedSize: Int64, headerSize: Int64, size: Int64) {
            self.path = path
            self.offset = offset
            self.compressedSize = compressedSize
            self.headerSize = headerSize
            self.size = size
        }
    }

    public static let currentVersion = 1
    public var version: Int
    public var entries: [Entry]
    /// The frame holding the tar end-of-archive blocks.
    public var trailerOffset: Int64
    public var trailerSize: Int64

    public init(entries: [Entry], trailerOffset: Int64, trailerSize: Int64) {
        self.version = Self.currentVersion
        self.entries = entries
        self.trailerOffset = trailerOffset
        self.trailerSize = trailerSize
    }

    /// Skippable-frame magic used for the index (0x184D2A5A, one of the sixteen zstd reserves).
    static let frameMagic: [UInt8] = [0x5A, 0x2A, 0x4D, 0x18]
    /// The file's last eight bytes, after the index length.
    static let footerMagic: [UInt8] = Array("ALSEEKv1".utf8)
    static let footerSize = 12

    /// The complete skippable frame: magic, length, JSON, JSON length, footer magic.
    func encodedFrame() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = Array(try encoder.encode(self))
        let payloadLength = json.count + Self.footerSize
        var frame = Self.frameMagic
        frame += littleEndian32(UInt32(payloadLength))
        frame += json
        frame += littleEndian32(UInt32(payloadLength))
        frame += Self.footerMagic
        return frame
    }

    /// Reads the index from the end of `file` and checks that its frames tile the file exactly:
    /// no gap, no overlap, nothing after the index.
    public static func read(from file: BundleFile) throws -> SeekIndex {
        let fileSize = file.size
        guard fileSize >= Int64(footerSize + 8) else { throw BundleIOError.badSeekIndex("file too small to hold one") }
        let footer = try file.readExactly(footerSize, at: fileSize - Int64(footerSize))
        guard Array(footer[4...]) == footerMagic else {
            let tail = try file.readUpTo(Int(min(fileSize, 1 << 20)), at: max(0, fileSize - (1 << 20)))
            if let end = lastIndex(of: footerMagic, in: tail) {
                throw BundleIOError.badSeekIndex("\(tail.count - end) bytes of data were appended after the bundle's last frame")
            }
            if file.isSplit, let last = file.parts.last {
                throw BundleIOError.badSeekIndex("missing at the end of \(last.path): a later part is missing, or the bundle is truncated")
            }
            throw BundleIOError.badSeekIndex("missing at the end of the file: the bundle is truncated")
        }
        let payloadLength = Int64(readLittleEndian32(footer, at: 0))
        let frameStart = fileSize - 8 - payloadLength
        guard payloadLength >= Int64(footerSize), payloadLength < 256 << 20, frameStart >= 0 else {
            throw BundleIOError.badSeekIndex("damaged length")
        }
        let header = try file.readExactly(8, at: frameStart)
        guard Array(header[..<4]) == frameMagic, Int64(readLittleEndian32(header, at: 4)) == payloadLength else {
            throw BundleIOError.badSeekIndex("damaged frame header")
        }
        let json = try file.readExactly(Int(payloadLength) - footerSize, at: frameStart + 8)
        let index: SeekIndex
        do {
            index = try JSONDecoder().decode(SeekIndex.self, from: Data(json))
        } catch {
            throw BundleIOError.badSeekIndex("does not parse")
        }
        guard index.version == currentVersion else {
            throw BundleIOError.badSeekIndex("version \(index.version) is not supported by this airlock (knows \(currentVersion))")
        }
        var expected: Int64 = 0
        for entry in index.entries {
            guard entry.offset == expected, entry.compressedSize > 0, entry.headerSize >= 0, entry.size >= 0 else {
                throw BundleIOError.badSeekIndex("frame of \(entry.path) does not follow the previous one")
            }
            expected += entry.compressedSize
        }
        guard index.trailerOffset == expected, index.trailerOffset + index.trailerSize == frameStart else {
            throw BundleIOError.badSeekIndex("frames do not end where the index starts")
        }
        return index
    }
}

func littleEndian32(_ value: UInt32) -> [UInt8] {
    [UInt8(value & 0xff), UInt8((value >> 8) & 0xff), UInt8((value >> 16) & 0xff), UInt8(value >> 24)]
}

func readLittleEndian32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
    UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
}

/// The offset just past the last occurrence of `needle` in `haystack`.
func lastIndex(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
    guard haystack.count >= needle.count else { return nil }
    for start in stride(from: haystack.count - needle.count, through: 0, by: -1)
    where haystack[start] == needle[0] && Array(haystack[start..<start + needle.count]) == needle {
        return start + needle.count
    }
    return nil
}
