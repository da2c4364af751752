import BundleIO
import Foundation
import TestSupport
import Testing

/// ``FrameCursor``: entries read in pieces of any size, through zstd or (frames of raw blocks)
/// straight from the file, and a frame that turns from raw to compressed blocks decoded whole.
@Suite(.removesTemporaryFolders)
struct FrameCursorTests {
    private func readAll(_ cursor: FrameCursor, pieces: Int) throws -> [UInt8] {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: pieces)
        while true {
            let count = try buffer.withUnsafeMutableBytes { try cursor.read(into: $0) }
            if count == 0 { return out }
            out += buffer[..<count]
        }
    }

    @Test(arguments: [1, 7, 4_096, 131_072, 131_075, 1 << 20])
    func storedAndCompressedEntriesReadInPiecesOfAnySize(pieces: Int) throws {
        let path = "\(try Harness.temporaryDirectory("cursor"))/b.tar.zst"
        var generator = SystemRandomNumberGenerator()
        let random = (0..<300_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let text = Array(String(repeating: "compressible line\n", count: 9_000).utf8)
        let writer = try BundleWriter(destination: path, modificationTime: 1_700_000_000)
        // A long name makes a PAX header, so the data starts past several header blocks.
        let long = "b/" + String(repeating: "x", count: 150) + ".gz"
        for (name, bytes, compression) in [("a.gz", random, EntryCompression.store), (long, random, .store), ("c.txt", text, .compress)] {
            try writer.addEntry(path: name, size: Int64(bytes.count), compression: compression) { try $0.write(bytes) }
        }
        _ = try writer.finish()
        let frames = try FrameReader(path: path)
        for (name, bytes) in [("a.gz", random), (long, random), ("c.txt", text)] {
            let cursor = try FrameCursor(file: frames.file, entry: try #require(frames.entry(name)), chunkSize: 64 << 10)
            #expect(try readAll(cursor, pieces: pieces) == bytes, "\(name) in pieces of \(pieces)")
        }
    }

    @Test(.needs(.zstd), arguments: [4_096, 10_000, 1 << 20])
    func aFrameThatTurnsFromRawBlocksToACompressedOneIsDecodedWhole(pieces: Int) throws {
        let folder = try Harness.temporaryDirectory("cursor")
        var generator = SystemRandomNumberGenerator()
        let raw = (0..<10_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let text = Array(String(repeating: "a line that compresses well\n", count: 1_500).utf8)
        // The zstd command's block for the text: a compressed block that needs no history.
        try Data(text).write(to: URL(fileURLWithPath: "\(folder)/text"))
        let zstd = try Harness.run(["zstd", "-q", "-19", "--no-check", "-f", "\(folder)/text", "-o", "\(folder)/text.zst"])
        try #require(zstd.status == 0, "\(zstd.stderr)")
        let compressed = Array(try Data(contentsOf: URL(fileURLWithPath: "\(folder)/text.zst")))
        let descriptor = compressed[4]
        let singleSegment = descriptor & 0x20 != 0
        let blockStart =
            5 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][Int(descriptor & 3)] + [singleSegment ? 1 : 0, 2, 4, 8][Int(descriptor >> 6)]
        let blockHeader = Int(compressed[blockStart]) | Int(compressed[blockStart + 1]) << 8 | Int(compressed[blockStart + 2]) << 16
        try #require(blockHeader & 1 == 1 && (blockHeader >> 1) & 3 == 2, "one compressed block")
        let block = Array(compressed[blockStart..<(blockStart + 3 + blockHeader >> 3)])

        // Magic, descriptor 0, window 2^17; a raw block (not the last), then the compressed block.
        var frame: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD, 0x00, 0x38]
        let rawHeader = raw.count << 3
        frame += [UInt8(rawHeader & 0xFF), UInt8((rawHeader >> 8) & 0xFF), UInt8(rawHeader >> 16)] + raw + block
        let path = "\(folder)/frame.zst"
        try Data(frame).write(to: URL(fileURLWithPath: path))
        let check = try Harness.run(["zstd", "-dc", path])
        try #require(check.data == Data(raw + text), "the zstd command reads the frame as built")

        let entry = SeekIndex.Entry(
            path: "mixed",
            offset: 0,
            compressedSize: Int64(frame.count),
            headerSize: 100,
            size: Int64(raw.count + text.count - 100)
        )
        let cursor = try FrameCursor(file: try BundleFile.single(path), entry: entry, chunkSize: 8_192)
        #expect(try readAll(cursor, pieces: pieces) == Array((raw + text)[100...]))
    }

    @Test func aRawFrameThatEndsEarlyIsReported() throws {
        let path = "\(try Harness.temporaryDirectory("cursor"))/short.zst"
        let payload = [UInt8](repeating: 7, count: 1_000)
        let header = payload.count << 3 | 1
        let frame: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD, 0x00, 0x38, UInt8(header & 0xFF), UInt8(header >> 8 & 0xFF), 0] + payload
        try Data(frame).write(to: URL(fileURLWithPath: path))
        let file = try BundleFile.single(path)
        // The index promises more than the frame holds; and a frame cut inside its block.
        let longer = SeekIndex.Entry(path: "x", offset: 0, compressedSize: Int64(frame.count), headerSize: 0, size: 2_000)
        #expect(throws: BundleIOError.sizeMismatch(path: "x", expected: 2_000, actual: 1_000)) {
            try readAll(try FrameCursor(file: file, entry: longer), pieces: 4_096)
        }
        let cut = SeekIndex.Entry(path: "x", offset: 0, compressedSize: Int64(frame.count - 10), headerSize: 0, size: 1_000)
        #expect(throws: BundleIOError.self) { try readAll(try FrameCursor(file: file, entry: cut), pieces: 4_096) }
    }
}
