import BundleIO
import Foundation
import Hashing
import TestSupport
import Testing

/// Bundles split into parts (`NAME.part001`, …): the parts concatenate to the very bytes of the
/// same bundle unsplit, and every reader takes them in place, reads crossing part boundaries.
@Suite(.removesTemporaryFolders)
struct SplitBundleTests {
    /// Text, random bytes stored raw (many parts' worth) and an empty file.
    private let entries: [(String, [UInt8], EntryCompression)] = {
        var generator = SystemRandomNumberGenerator()
        let text = Array(String(repeating: "compressible line\n", count: 20_000).utf8)
        let random = [0x1f, 0x8b] + (0..<400_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return [("a/text.txt", text, .compress), ("b/random.gz", random, .store), ("c/empty", [], .compress)]
    }()

    private func write(to path: String, partSize: Int64?) throws -> BundleWriter.Summary {
        let writer = try BundleWriter(destination: path, modificationTime: 1_700_000_000, partSize: partSize)
        for (name, bytes, compression) in entries {
            try writer.addEntry(path: name, size: Int64(bytes.count), compression: compression) { try $0.write(bytes) }
        }
        return try writer.finish()
    }

    @Test(arguments: [Int64(64 << 10), 100_000, 1 << 20])
    func partsConcatenateToTheUnsplitBundleAndReadInPlace(partSize: Int64) throws {
        let dir = try Harness.temporaryDirectory("bundleio-split")
        let whole = try write(to: "\(dir)/whole.tar.zst", partSize: nil)
        let split = try write(to: "\(dir)/split.tar.zst", partSize: partSize)
        let wholeBytes = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/whole.tar.zst"))

        // Part sizes are whole pages (100,000 becomes 98,304), all but the last exactly that size.
        let size = partSize - partSize % 4096
        #expect(split.parts.count == Int((Int64(wholeBytes.count) + size - 1) / size))
        #expect(split.parts.map(\.path) == (1...split.parts.count).map { "\(dir)/split.tar.zst" + BundleFile.partSuffix($0) })
        #expect(split.parts.dropLast().allSatisfy { $0.size == size } && split.parts.last!.size <= size)
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/split.tar.zst"), "a split bundle is only its parts")
        var joined = Data()
        for part in split.parts {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: part.path))
            #expect(Int64(bytes.count) == part.size && SHA256Hasher.hex(Array(bytes)) == part.sha256, "\(part.path)")
            joined += bytes
        }
        #expect(joined == wholeBytes, "the parts are the unsplit bundle, byte for byte")
        #expect(split.sha256 == whole.sha256 && split.size == whole.size)

        // Opened by the bundle's name or by any part's, the parts read as one file.
        for name in ["\(dir)/split.tar.zst", split.parts.last!.path] {
            let file = try BundleFile.open(name)
            #expect(file.isSplit && file.path == "\(dir)/split.tar.zst" && file.size == Int64(wholeBytes.count))
            let span = Int(size / 2) + 17
            for start in stride(from: 0, to: wholeBytes.count, by: Int(size / 3)) {
                let expected = wholeBytes[start..<min(wholeBytes.count, start + span)]
                #expect(Data(try file.readUpTo(span, at: Int64(start))) == expected, "at \(start)")
            }
            let reader = try TarReader(path: name, input: .zstdTar)
            for (entry, bytes, _) in entries {
                #expect(try reader.next()?.path == entry)
                #expect(try reader.readAll(limit: 1 << 30) == bytes, "\(entry) through the tar reader")
            }
            let frames = try FrameReader(path: name)
            for (entry, bytes, _) in entries.reversed() {
                var read: [UInt8] = []
                try frames.read(try #require(frames.entry(entry))) { read.append(contentsOf: $0) }
                #expect(read == bytes, "\(entry) through the seek index")
            }
        }
        let notSplit = try BundleFile.open("\(dir)/whole.tar.zst")
        #expect(!notSplit.isSplit && notSplit.parts.count == 1)
    }

    @Test func aMissingPartIsNamedAndAMissingLastPartReadsAsTruncation() throws {
        let dir = try Harness.temporaryDirectory("bundleio-split")
        let split = try write(to: "\(dir)/b.tar.zst", partSize: 64 << 10)
        try #require(split.parts.count >= 4)
        try FileManager.default.moveItem(atPath: split.parts[1].path, toPath: "\(dir)/aside")
        let found = ([1] + Array(3...split.parts.count)).map { BundleFile.partSuffix($0) }.joined(separator: ", ")
        #expect(throws: BundleIOError.parts("\(dir)/b.tar.zst.part002 is missing (found \(found)): copy every part into one folder")) {
            try BundleFile.open("\(dir)/b.tar.zst")
        }
        try FileManager.default.moveItem(atPath: "\(dir)/aside", toPath: split.parts[1].path)
        unlink(split.parts.last!.path)
        do {
            _ = try FrameReader(path: "\(dir)/b.tar.zst")
            Issue.record("a bundle without its last part must not open")
        } catch BundleIOError.badSeekIndex(let why) {
            #expect(why.contains("missing at the end of \(split.parts[split.parts.count - 2].path): a later part is missing"), "\(why)")
        }
    }

    @Test func writingAgainRemovesWhatAnEarlierBundleOfTheSameNameLeft() throws {
        let dir = try Harness.temporaryDirectory("bundleio-split")
        let path = "\(dir)/b.tar.zst"
        let small = try write(to: path, partSize: 64 << 10)
        let large = try write(to: path, partSize: 256 << 10)
        #expect(large.parts.count < small.parts.count)
        #expect(large.removed == small.parts.dropFirst(large.parts.count).map(\.path))
        let whole = try write(to: path, partSize: nil)
        #expect(whole.removed == large.parts.map(\.path) && whole.parts.isEmpty)
        let again = try write(to: path, partSize: 64 << 10)
        #expect(again.removed == [path])
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
                == again.parts.map { URL(fileURLWithPath: $0.path).lastPathComponent }
        )
    }

    @Test func anAbandonedSplitBundleLeavesNoPart() throws {
        let dir = try Harness.temporaryDirectory("bundleio-split")
        let writer = try BundleWriter(destination: "\(dir)/b.tar.zst", modificationTime: 0, partSize: 64 << 10)
        let random = [0x1f, 0x8b] + (0..<300_000).map { _ in UInt8.random(in: 0...255) }
        try writer.addEntry(path: "a", size: Int64(random.count), compression: .store) { try $0.write(random) }
        writer.abandon()
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
        #expect(throws: BundleIOError.self) { try BundleWriter(destination: "\(dir)/c.tar.zst", modificationTime: 0, partSize: 4095) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
    }

    @Test func aBundleNeedingMoreThan999PartsStopsAndLeavesNothing() throws {
        let dir = try Harness.temporaryDirectory("bundleio-split")
        let writer = try BundleWriter(destination: "\(dir)/b.tar.zst", modificationTime: 0, partSize: 4096)
        let bytes = [UInt8](repeating: 7, count: 4_200_000)
        do {
            try writer.addEntry(path: "a", size: Int64(bytes.count), compression: .store) { try $0.write(bytes) }
            _ = try writer.finish()
            Issue.record("1,026 parts must be refused")
        } catch BundleIOError.parts(let why) {
            writer.abandon()
            #expect(why == "the bundle needs more than 999 parts of 4096 bytes: choose a larger --split-size")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
    }

    @Test(arguments: [
        ("b.tar.zst.part001", "b.tar.zst", 1), ("b.tar.zst.part042", "b.tar.zst", 42), ("dir/x.part999", "dir/x", 999),
    ])
    func partNamesAreRecognised(name: String, base: String, number: Int) {
        #expect(BundleFile.splitPartName(name)?.base == base && BundleFile.splitPartName(name)?.number == number)
    }

    @Test(arguments: [
        "b.tar.zst", "b.tar.zst.part000", "b.tar.zst.part01", "b.tar.zst.part0001", "b.part00x", ".b.tar.zst.part001.partial-12",
    ])
    func otherNamesAreNotParts(name: String) {
        #expect(BundleFile.splitPartName(name) == nil)
    }
}
