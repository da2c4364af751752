import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A disk too small for the bundle: a real tmpfs of 96 KiB mounted for the test (root only; CI runs
/// as root, so there it always runs).
@Suite(.removesTemporaryFolders, .needs(.zstd, .python3, .mount), .enabled(if: Harness.isCI || geteuid() == 0))
struct DiskSpaceTests {
    @Test func unpackRefusesBeforeWritingAndAPackThatFillsTheDiskLeavesNothing() throws {
        let packed = try PackedExample.make(layerMB: 1)
        let small = "\(packed.root)/small"
        try FileManager.default.createDirectory(atPath: small, withIntermediateDirectories: true)
        let mount = try Harness.run(["mount", "-t", "tmpfs", "-o", "size=96k", "tmpfs", small])
        try #require(mount.status == 0, "mount a 96 KiB tmpfs: \(mount.stderr)")
        defer { _ = try? Harness.run(["umount", small]) }

        // The bundle's 140 KiB of content cannot fit: said at once, in one line, nothing written.
        let unpack = try Harness.airlock(["unpack", packed.bundle, "-o", "\(small)/out", "--key", "signer.pub"], in: packed.example)
        #expect(unpack.status == 2, "\(unpack.stderr)")
        #expect(
            unpack.stderr.contains("unpacking platform 1.4.2 needs ") && unpack.stderr.contains("free: free some space or write elsewhere")
                && unpack.stderr.split(separator: "\n").count == 1,
            "\(unpack.stderr)"
        )
        #expect(try FileManager.default.contentsOfDirectory(atPath: small).isEmpty)

        // A pack into it is warned about, fails when the disk is full, and leaves no partial bundle.
        let pack = try Harness.airlock(["pack", "-q", "--key", "signer.key", "-o", "\(small)/b.tar.zst"], in: packed.example)
        #expect(pack.status != 0)
        #expect(pack.status == 4, "a full disk is an I/O failure: \(pack.stderr)")
        let lines = pack.stderr.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("warning: \(small) has ") && $0.contains("this pack may need up to") }, "\(pack.stderr)")
        #expect(lines.last?.contains("No space left on device") == true, "\(pack.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: small).isEmpty, "no partial bundle")
        #expect(try FileManager.default.contentsOfDirectory(atPath: packed.example).filter { $0.contains("partial") }.isEmpty)
    }
}
