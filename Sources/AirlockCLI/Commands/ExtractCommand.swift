import AirlockCore
import ArgumentParser
import Foundation
import Signing

struct ExtractCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extract",
        abstract: "Extract one entry through the seek index, verified, without decompressing the rest of the bundle."
    )

    @Argument(help: "The bundle.") var bundle: String
    @Argument(help: "The entry's path in the bundle, e.g. oci/blobs/sha256/<hex> or files/INSTALL.md.") var entry: String
    @Option(name: [.short, .customLong("out")], help: ArgumentHelp("Where to write it.", valueName: "FILE")) var out: String
    @OptionGroup var trust: TrustOptions
    @OptionGroup var outputOptions: OutputOptions

    struct Result: Encodable {
        let entry: String
        let written: String
    }

    func run() throws {
        let access = try BundleRandomAccess(path: bundle, policy: try trust.policy())
        try access.extract(entry, to: out)
        try outputOptions.emit(Result(entry: entry, written: out)) { "wrote \(entry) to \(out) (verified)\n" }
    }
}
