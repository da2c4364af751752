import AirlockCore
import ArgumentParser
import Foundation
import Signing

struct UnpackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unpack",
        abstract: "Verify and unpack a bundle into a new folder: oci/ (an OCI image layout), charts/, endpoints/, files/.",
        discussion: """
            The folder appears only when everything verified; on failure nothing is left behind. A delta bundle \
            (pack --since) needs --base, the bundle it builds on or the folder that one was unpacked into: the layers it \
            leaves out are copied from there, each checked against its signed digest.
            """
    )

    @Argument(help: "The bundle.") var bundle: String
    @Option(name: [.short, .customLong("out")], help: ArgumentHelp("The folder to create.", valueName: "DIR")) var out: String
    @Option(
        name: .long,
        help: ArgumentHelp(
            "For a delta bundle: the bundle it builds on, or the folder that one was unpacked into.",
            valueName: "OLD.tar.zst|DIR"
        )
    )
    var base: String?
    @OptionGroup var trust: TrustOptions
    @OptionGroup var outputOptions: OutputOptions

    func run() throws {
        try emitVerification(
            try Unpacker(bundle: bundle, output: out, policy: try trust.policy(), base: base).unpack(),
            outputOptions,
            trailer: "unpacked into \(out)\n"
        )
    }
}
