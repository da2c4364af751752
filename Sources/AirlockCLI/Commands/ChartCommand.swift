import AirlockCore
import ArgumentParser
import Foundation

/// `airlock chart render|images`: a chart as airlock's Helm engine renders it, offline.
struct ChartCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chart",
        abstract: "Render a chart as Helm would, or list the images it will pull (no helm binary, no network).",
        subcommands: [ChartRenderCommand.self, ChartImagesCommand.self]
    )
}
