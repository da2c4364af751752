import AirlockCore
import ArgumentParser
import Foundation

struct ChartRenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Print the manifests a chart renders to, as helm template does.",
        discussion: """
            Renders with airlock's own implementation of Helm's template engine (Go text/template, Sprig, Helm's functions and \
            value merging); lookup answers nothing, as with helm template. --output json prints each template's text by name.
            """
    )

    @OptionGroup var install: ChartInstallOptions
    @OptionGroup var outputOptions: OutputOptions

    func run() throws {
        let rendered = try install.render()
        try outputOptions.emit(rendered) {
            rendered.keys.sorted().compactMap { name in
                let text = rendered[name]!
                guard !name.hasSuffix("NOTES.txt"), text.utf8.contains(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }) else {
                    return nil
                }
                return "---\n# Source: \(name)\n\(text)\(text.hasSuffix("\n") ? "" : "\n")"
            }.joined()
        }
    }
}
