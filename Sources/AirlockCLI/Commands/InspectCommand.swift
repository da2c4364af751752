import AirlockCore
import ArgumentParser
import Foundation
import Signing

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a bundle's contents from its first frame, without decompressing the rest. Does NOT verify."
    )

    @Argument(help: "The bundle.") var bundle: String
    @OptionGroup var outputOptions: OutputOptions

    func run() throws {
        let report = try Inspector.inspect(path: bundle)
        try outputOptions.emit(report) { renderInspect(report) }
    }
}
