import BundleIO
import Foundation
import Hashing
import TestSupport
import Testing

@Suite(.removesTemporaryFolders)
struct BundleIOTests {
    /// Three entries: compressible text, "already compressed" random bytes stored raw (spanning
    /// several 128 KiB raw blocks), and an empty file.
    private func writeSample(to path: String) throws -> [(String, [UInt8])] {
        var generator = SystemRandomNumberGenerator()
        let text = Array(String(repeating: "compressible line\n", count: 20_000).utf8)
        let random = [0x1f, 0x8b] + (0..<400_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let entries: [(String, [UInt8], EntryCompression)] = [
            ("a/text.txt", text, .compress), ("b/random.gz", random, .store), ("c/empty", [], .compress),
        ]
        let writer = try BundleWriter(destination: path, modificationTime: 1_700_000_000)
        for (name, bytes, compression) in entries {
            try writer.addEntry(path: name, size: Int64(bytes.count), compression: compression) { try $0.write(bytes) }
        }
        _ = try writer.finish()
        return entries.map { ($0.0, $0.1) }
    }

    @Test func entriesRoundTripThroughTheTarReaderAndTheSeekIndex() throws {
        let dir = try Harness.temporaryDirectory("bundleio")
        let path = "\(dir)/b.tar.zst"
        let entries = try writeSample(to: path)

        let reader = try TarReader(path: path, input: .zstdTar)
        for (name, bytes) in entries {
            let header = try #require(try reader.next())
            #expect(header.path == name && header.kind == .regular && header.size == Int64(bytes.count))
            #expect(try reader.readAll(limit: 1 << 30) == bytes)
        }
        #expect(try reader.next() == nil)

        let frames = try FrameReader(path: path)
        #expect(frames.index.entries.map(\.path) == entries.map(\.0))
        for (name, bytes) in entries.reversed() {
            var read: [UInt8] = []
            try frames.read(try #require(frames.entry(name))) { read.append(contentsOf: $0) }
            #expect(read == bytes, "\(name)")
        }
        // Stored data costs almost nothing: 3 bytes per 128 KiB block plus the frame header (and tar padding).
        let stored = try #require(frames.entry("b/random.gz"))
        #expect(stored.compressedSize < stored.size + stored.headerSize + 512 + 64)
        #expect(try #require(frames.entry("a/text.txt")).compressedSize < 20_000)
    }

    @Test func theZstdCommandReadsEveryFrameIncludingStoredOnesAndSkipsTheIndex() throws {
        let dir = try Harness.temporaryDirectory("bundleio")
        let path = "\(dir)/b.tar.zst"
        _ = try writeSample(to: path)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sh", "-c", "zstd -t -q \"$0\" && zstd -dc \"$0\" | tar -tv", path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let listing = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(listing.contains("a/text.txt") && listing.contains("b/random.gz") && listing.contains("0/0"))
        #expect(listing.contains("2023-11-14"), "fixed mtime: \(listing)")
    }

    /// Bundle files are written with direct I/O where the file system allows it: whole pages, the
    /// last piece after direct I/O is turned off. Whatever the length, the file holds every byte
    /// once, and the digest the writer reports is the file's. Written on the temporary folder's
    /// file system and, where there is one, on tmpfs (/dev/shm).
    @Test(arguments: [1, 4_095, 4_096, 4_097, 131_072, 131_075, 1_052_700, 3 << 20 + 7])
    func bundlesOfAnyLengthAreWrittenWhole(storedSize: Int) throws {
        let dir = try Harness.temporaryDirectory("bundleio")
        var folders = [dir]
        if FileManager.default.isWritableFile(atPath: "/dev/shm") { folders.append("/dev/shm") }
        var generator = SystemRandomNumberGenerator()
        let bytes = [0x1f, 0x8b] + (0..<storedSize).map { _ in UInt8.random(in: 0...255, using: &generator) }
        for folder in folders {
            let path = "\(folder)/sized-\(UUID().uuidString.prefix(8)).tar.zst"
            defer { unlink(path) }
            let writer = try BundleWriter(destination: path, modificationTime: 1_700_000_000)
            try writer.addEntry(path: "blob", size: Int64(bytes.count), compression: .store) { try $0.write(bytes) }
            let summary = try writer.finish()
            let file = try Data(contentsOf: URL(fileURLWithPath: path))
            #expect(Int64(file.count) == summary.size, "\(folder)")
            #expect(SHA256Hasher.hex(Array(file)) == summary.sha256, "\(folder)")
            let reader = try TarReader(path: path, input: .zstdTar)
            #expect(try reader.next()?.path == "blob")
            #expect(try reader.readAll(limit: 1 << 30) == bytes, "\(folder)")
        }
    }

    @Test func writersLeaveNothingBehindWhenAbandoned() throws {
        let dir = try Harness.temporaryDirectory("bundleio")
        do {
            let writer = try BundleWriter(destination: "\(dir)/b.tar.zst", modificationTime: 0)
            try writer.addEntry(path: "x", size: 10, compression: .compress) { try $0.write([1, 2, 3]) }
            Issue.record("a short entry must fail")
        } catch BundleIOError.sizeMismatch(let path, let expected, let actual) {
            #expect(path == "x" && expected == 10 && actual == 3)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)

        // Abandoned between entries (a download the next entry waits for failed): no crash, no file.
        let writer = try BundleWriter(destination: "\(dir)/c.tar.zst", modificationTime: 0)
        try writer.addEntry(path: "a", size: 3, compression: .store) { try $0.write([1, 2, 3]) }
        writer.abandon()
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
    }

    @Test func aDamagedSeekIndexIsReported() throws {
        let dir = try Harness.temporaryDirectory("bundleio")
        let path = "\(dir)/b.tar.zst"
        _ = try writeSample(to: path)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("junk".utf8))
        try handle.close()
        #expect(throws: BundleIOError.self) { try FrameReader(path: path) }
    }
}
