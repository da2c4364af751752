import AirlockCore
import ArgumentParser
import Foundation

/// `airlock version`: the tool's version, the bundle format versions it reads and writes, and how
/// this binary was built (read from the running process: which libraries it loaded).
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version",
        abstract: "Show airlock's version, the bundle formats it reads and writes, and how this binary was built."
    )

    @OptionGroup var outputOptions: OutputOptions

    struct Result: Encodable {
        struct Formats: Encodable {
            let reads: [Int]
            let writes: Int
        }
        struct Build: Encodable {
            /// The Swift runtime is inside the binary (no libswiftCore.so loaded).
            let staticSwiftRuntime: Bool
            /// libarchive, libzstd and OpenSSL are inside the binary.
            let staticCLibraries: Bool
            /// Shared libraries the process loaded besides the C library's own.
            let sharedLibraries: [String]
            let architecture: String
        }
        let version: String
        let bundleFormat: Formats
        let build: Build
    }

    func run() throws {
        let loaded = Self.sharedLibraries()
        let system: Set<String> = [
            "libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1", "libutil.so.1",
            "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1", "libgcc_s.so.1", "libstdc++.so.6", "linux-vdso.so.1",
        ]
        let extra = loaded.filter { !system.contains($0) }
        #if arch(x86_64)
            let architecture = "x86_64"
        #else
            let architecture = "aarch64"
        #endif
        let result = Result(
            version: BundleFormat.toolVersion,
            bundleFormat: .init(reads: [BundleFormat.version], writes: BundleFormat.version),
            build: .init(
                staticSwiftRuntime: !loaded.contains { $0.hasPrefix("libswiftCore") },
                staticCLibraries: !loaded.contains { $0.hasPrefix("libarchive") || $0.hasPrefix("libzstd") || $0.hasPrefix("libcrypto") },
                sharedLibraries: extra,
                architecture: architecture
            )
        )
        try outputOptions.emit(result) {
            var text = "airlock \(result.version)\nbundle format: reads v\(BundleFormat.version), writes v\(BundleFormat.version)\n"
            text += "Swift runtime: \(result.build.staticSwiftRuntime ? "static" : "shared")\n"
            text += "libarchive, libzstd, OpenSSL: \(result.build.staticCLibraries ? "static" : "shared")\n"
            if !extra.isEmpty { text += "shared libraries: \(extra.joined(separator: ", "))\n" }
            return text
        }
    }

    /// The shared objects mapped into this process (from /proc/self/maps), by file name.
    static func sharedLibraries() -> [String] {
        // /proc files report no size: read until the end, not one buffer's worth.
        guard let data = FileHandle(forReadingAtPath: "/proc/self/maps")?.readDataToEndOfFile() else { return [] }
        let maps = String(decoding: data, as: UTF8.self)
        var names: Set<String> = []
        for line in maps.split(separator: "\n") {
            guard let path = line.split(separator: " ", omittingEmptySubsequences: true).last, path.hasPrefix("/"), path.contains(".so")
            else { continue }
            names.insert(String(path.split(separator: "/").last ?? ""))
        }
        return names.sorted()
    }
}
