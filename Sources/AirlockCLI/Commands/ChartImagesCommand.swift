import AirlockCore
import ArgumentParser
import Foundation

struct ChartImagesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "images",
        abstract: "List the images a chart's rendered objects will pull, with the template each comes from."
    )

    @OptionGroup var install: ChartInstallOptions
    @OptionGroup var outputOptions: OutputOptions

    func run() throws {
        let images = try ChartRendering.images(in: try install.render())
        let lines = images.map { ["ref": $0.reference, "template": $0.template] }
        try outputOptions.emit(lines) {
            images.map { "\($0.reference)  \($0.template)\n" }.joined()
        }
    }
}
