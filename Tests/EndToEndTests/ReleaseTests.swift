import Foundation
import TestSupport
import Testing

/// The self-contained release (scripts/release, run by scripts/test into .build/dist before the
/// suite) on hosts that have nothing: its binary links only the C library's own shared objects,
/// runs the small journey inside a minimal Debian 12 root made with debootstrap
/// --variant=minbase (no Swift, no libarchive, no OpenSSL library), and a first delivery packed
/// with --include-airlock is opened there with the stock-tool recipe and then with the airlock it
/// carried.
@Suite(.removesTemporaryFolders, .enabled(if: Release.available), .serialized)
struct ReleaseTests {
    @Test func theReleaseBinaryNeedsOnlyTheCLibrary() throws {
        let binary = try Release.binary()
        let dynamic = try Harness.run(["readelf", "-d", binary])
        try #require(dynamic.status == 0, "\(dynamic.stderr)")
        let needed = Set(
            dynamic.stdout.split(separator: "\n").compactMap { line -> String? in
                guard line.contains("(NEEDED)"), let start = line.firstIndex(of: "["), let end = line.firstIndex(of: "]") else {
                    return nil
                }
                return String(line[line.index(after: start)..<end])
            }
        )
        let allowed: Set<String> = [
            "libc.so.6", "libm.so.6", "libgcc_s.so.1", "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1",
            "libpthread.so.0", "libdl.so.2", "librt.so.1",
        ]
        #expect(!needed.isEmpty && needed.isSubset(of: allowed), "needs only the C library: \(needed.sorted())")
        let version = try Harness.run([binary, "version", "--output", "json"])
        let report = try #require(try JSONSerialization.jsonObject(with: version.data) as? [String: Any])
        let build = try #require(report["build"] as? [String: Any])
        #expect(build["staticSwiftRuntime"] as? Bool == true && build["staticCLibraries"] as? Bool == true, "\(version.stdout)")
        #expect((build["sharedLibraries"] as? [String]) == [], "\(version.stdout)")
        #expect(((report["bundleFormat"] as? [String: Any])?["writes"] as? Int) == 1)
    }

    @Test func theReleaseRunsTheJourneyInAMinimalDebianRoot() throws {
        let root = try Release.minimalRoot(named: "minbase", including: [])
        #expect(!FileManager.default.fileExists(atPath: "\(root)/usr/lib/x86_64-linux-gnu/libarchive.so.13"), "no libarchive in the root")
        #expect(!FileManager.default.fileExists(atPath: "\(root)/usr/lib/x86_64-linux-gnu/libssl.so.3"), "no OpenSSL library in the root")
        let work = "\(root)/work"
        try? FileManager.default.removeItem(atPath: work)
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        #expect(try Harness.run(["tar", "-xzf", try Release.archive(), "-C", work]).status == 0)
        _ = try Harness.makeExample(in: work, dockerArchive: false)
        let journey = """
            set -e
            cd /work
            A=$(ls -d /work/airlock-*/bin)/airlock
            $A --version
            $A version --output json
            cd example
            $A key generate --out k
            $A pack -q --key k.key -o /work/b.tar.zst
            $A verify /work/b.tar.zst --key k.pub
            $A unpack /work/b.tar.zst -o /work/out --key k.pub
            test -f /work/out/oci/index.json
            echo JOURNEY-OK
            """
        let run = try Release.inRoot(root, journey)
        #expect(run.status == 0 && run.stdout.contains("JOURNEY-OK"), "\(run.stdout)\n\(run.stderr)")
    }

    @Test func aFirstDeliveryCarriesItsOwnOpener() throws {
        // Packed on the connected side with the release archive inside.
        let host = try Harness.temporaryDirectory("release-host")
        let example = try Harness.makeExample(in: host, dockerArchive: false)
        #expect(try Harness.airlock(["key", "generate", "--out", "vendor"], in: example).status == 0)
        let archive = try Release.archive()
        let pack = try Harness.airlock(
            ["pack", "-q", "--key", "vendor.key", "--include-airlock-from", archive, "-o", "first.tar.zst"],
            in: example
        )
        try #require(pack.status == 0, "\(pack.stderr)")
        let name = URL(fileURLWithPath: archive).lastPathComponent

        // Inside: a minimal Debian root with the stock tools the recipe uses, and no airlock.
        let root = try Release.minimalRoot(named: "minbase-tools", including: ["openssl", "zstd", "python3"])
        let work = "\(root)/work"
        try? FileManager.default.removeItem(atPath: work)
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        for file in ["\(example)/first.tar.zst", "\(example)/vendor.pub", "\(Harness.packageRoot)/scripts/audit-verify.sh"] {
            #expect(try Harness.run(["cp", file, work]).status == 0)
        }
        let bootstrap = """
            set -e
            cd /work
            bash audit-verify.sh first.tar.zst vendor.pub
            zstd -dc first.tar.zst | tar -x files/airlock/\(name)
            grep -q "$(sha256sum files/airlock/\(name) | cut -c1-64)" <(zstd -dc first.tar.zst | tar -xO statement.intoto.json | python3 \
            -c 'import base64,json,sys; print(base64.b64decode(json.load(sys.stdin)["payload"]).decode())')
            tar -xzf files/airlock/\(name)
            A=$(ls -d /work/airlock-*/bin)/airlock
            $A verify first.tar.zst --key vendor.pub
            $A unpack first.tar.zst -o unpacked --key vendor.pub
            echo BOOTSTRAP-OK
            """
        let run = try Release.inRoot(root, bootstrap)
        #expect(
            run.status == 0 && run.stdout.contains("OK: signature verified") && run.stdout.contains("BOOTSTRAP-OK"),
            "\(run.stdout)\n\(run.stderr)"
        )
    }

    @Test func theReleaseArchiveIsSignedAndReproducible() throws {
        let dist = Release.dist
        let sums = try String(contentsOfFile: "\(dist)/SHA256SUMS", encoding: .utf8)
        let archive = try Release.archive()
        #expect(sums.contains(try Harness.sha256(ofFile: archive)), "\(sums)")
        let listing = try Harness.run(["tar", "-tzf", archive]).stdout
        for member in [
            "bin/airlock", "completions/airlock.bash", "completions/airlock.zsh", "completions/airlock.fish", "man/man1/airlock.1",
            "README.md", "LICENSE", "share/audit-verify.sh", "share/verify-file.sh",
        ] {
            #expect(listing.contains("/\(member)"), "\(member) in \(listing)")
        }
        // Signed by a release key, checked as a gate checks a bundle's detached envelope.
        let work = try Harness.temporaryDirectory("release-sign")
        #expect(try Harness.airlock(["key", "generate", "--out", "release"], in: work).status == 0)
        #expect(try Harness.run(["cp", "\(dist)/SHA256SUMS", "\(work)/SHA256SUMS"]).status == 0)
        let sign = try Harness.airlock(["sign-file", "SHA256SUMS", "--key", "release.key"], in: work)
        try #require(sign.status == 0, "\(sign.stderr)")
        let check = try Harness.airlock(
            ["verify", "SHA256SUMS", "--detached", "--envelope", "SHA256SUMS.intoto.json", "--key", "release.pub"],
            in: work
        )
        #expect(check.status == 0, "\(check.stdout) \(check.stderr)")
        let recipe = "\(dist)/verify-file.sh"  // the copy scripts/release writes beside SHA256SUMS
        let stock = try Harness.run(["bash", recipe, "SHA256SUMS", "SHA256SUMS.intoto.json", "release.pub"], in: work)
        #expect(stock.status == 0 && stock.stdout.hasPrefix("OK: SHA256SUMS is the file"), "\(stock.stdout) \(stock.stderr)")
        try (sums + "tampered\n").write(toFile: "\(work)/SHA256SUMS", atomically: true, encoding: .utf8)
        let tampered = try Harness.airlock(
            ["verify", "SHA256SUMS", "--detached", "--envelope", "SHA256SUMS.intoto.json", "--key", "release.pub"],
            in: work
        )
        #expect(tampered.status == 1, "\(tampered.stdout) \(tampered.stderr)")
        let stockTampered = try Harness.run(["bash", recipe, "SHA256SUMS", "SHA256SUMS.intoto.json", "release.pub"], in: work)
        #expect(stockTampered.status == 1 && stockTampered.stderr.contains("FAILED: SHA256SUMS hashes to"), "\(stockTampered.stderr)")
        // The same commit and SOURCE_DATE_EPOCH give the same bytes: the archive is made again.
        let again = try Harness.run(
            ["bash", "\(Harness.packageRoot)/scripts/release", "--out", "\(work)/again"],
            environment: ["SOURCE_DATE_EPOCH": try Release.epoch()]
        )
        try #require(again.status == 0, "\(again.stderr.suffix(2000))")
        #expect(
            try Harness.sha256(ofFile: "\(work)/again/\(URL(fileURLWithPath: archive).lastPathComponent)")
                == (try Harness.sha256(ofFile: archive))
        )
    }
}

/// Where scripts/test left the release, and minimal Debian roots (made once, kept in .build).
enum Release {
    static let dist = ProcessInfo.processInfo.environment["AIRLOCK_RELEASE_DIR"] ?? "\(Harness.packageRoot)/.build/dist"

    static var available: Bool {
        Harness.isCI || FileManager.default.fileExists(atPath: "\(dist)/SHA256SUMS")
    }

    static func archive() throws -> String {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dist)) ?? []
        let archive = try #require(
            names.first { $0.hasPrefix("airlock-") && $0.hasSuffix(".tar.gz") },
            "no release archive in \(dist) (scripts/test makes it)"
        )
        return "\(dist)/\(archive)"
    }

    static func epoch() throws -> String {
        try String(contentsOfFile: "\(dist)/SOURCE_DATE_EPOCH", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func binary() throws -> String {
        let folder = try Harness.temporaryDirectory("release-bin")
        #expect(try Harness.run(["tar", "-xzf", try archive(), "-C", folder]).status == 0)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder)
        return "\(folder)/\(try #require(names.first))/bin/airlock"
    }

    /// A Debian 12 root from debootstrap --variant=minbase (plus `including`), made once.
    static func minimalRoot(named name: String, including packages: [String]) throws -> String {
        let root = "\(Harness.packageRoot)/.build/\(name)"
        if FileManager.default.fileExists(atPath: "\(root)/etc/debian_version") { return root }
        try? FileManager.default.removeItem(atPath: root)
        let made = try Harness.run(
            ["debootstrap", "--variant=minbase"] + (packages.isEmpty ? [] : ["--include=\(packages.joined(separator: ","))"])
                + ["bookworm", root, "http://deb.debian.org/debian"]
        )
        try #require(made.status == 0, "debootstrap: \(made.stdout.suffix(1500)) \(made.stderr.suffix(1500))")
        return root
    }

    /// Runs a shell script inside `root` (chroot, in a mount namespace with /proc mounted).
    static func inRoot(_ root: String, _ script: String) throws -> Harness.Output {
        try Harness.run([
            "unshare", "--mount", "--fork", "sh", "-c",
            "mount -t proc proc \"$0/proc\" && exec chroot \"$0\" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root /bin/bash -c \"$1\"",
            root, script,
        ])
    }
}
