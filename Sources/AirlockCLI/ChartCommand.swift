import AirlockCore
import ArgumentParser
import Foundation

/// `airlock chart render|images`: a chart as airlock's Helm engine renders it, offline.
struct ChartCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chart",
        abstract: "Render a chart as Helm would, or list the images it will pull (no helm binary, no network).",
        subcommands: [ChartRenderCommand.self, ChartImagesCommand.self])
}

/// The options `helm template` takes that decide what a chart renders.
struct ChartInstallOptions: ParsableArguments {
    @Argument(help: ArgumentHelp("A chart folder or .tgz (its dependencies vendored under charts/).", valueName: "CHART"))
    var chart: String

    @Option(name: [.customShort("f"), .long], help: ArgumentHelp("A values file (repeatable; later ones win).", valueName: "FILE"))
    var values: [String] = []

    @Option(name: .long, help: ArgumentHelp("A value by dotted path, as helm --set takes it; the value is read as YAML (repeatable).", valueName: "PATH=VALUE"))
    var set: [String] = []

    @Option(name: .long, help: "The release name (.Release.Name).")
    var releaseName = "release"

    @Option(name: .long, help: "The namespace (.Release.Namespace).")
    var namespace = "default"

    @Option(name: .long, help: ArgumentHelp("The cluster's Kubernetes version (.Capabilities.KubeVersion); Helm v4's default otherwise.", valueName: "VERSION"))
    var kubeVersion: String?

    func settings() throws -> ChartRendering.InstallSettings {
        let pairs = try set.map { entry -> (path: String, value: String) in
            guard let equals = entry.firstIndex(of: "="), equals != entry.startIndex else {
                throw AirlockFailure(message: "--set \(entry): write PATH=VALUE", status: .usage)
            }
            return (String(entry[..<equals]), String(entry[entry.index(after: equals)...]))
        }
        return .init(valuesFiles: values, set: pairs, releaseName: releaseName, namespace: namespace, kubeVersion: kubeVersion)
    }

    func render() throws -> [String: String] {
        let settings = try settings()
        let chart = try ChartRendering.load(path: chart)
        let values = try ChartRendering.userValues(settings, relativeTo: FileManager.default.currentDirectoryPath)
        return try ChartRendering.render(chart, values: values, settings: settings)
    }
}

struct ChartRenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Print the manifests a chart renders to, as helm template does.",
        discussion: """
            Renders with airlock's own implementation of Helm's template engine (Go text/template, Sprig, Helm's functions and \
            value merging); lookup answers nothing, as with helm template. --output json prints each template's text by name.
            """)

    @OptionGroup var install: ChartInstallOptions
    @OptionGroup var outputOptions: OutputOptions

    func run() throws {
        let rendered = try install.render()
        try outputOptions.emit(rendered) {
            rendered.keys.sorted().compactMap { name in
                let text = rendered[name]!
                guard !name.hasSuffix("NOTES.txt"), text.utf8.contains(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }) else { return nil }
                return "---\n# Source: \(name)\n\(text)\(text.hasSuffix("\n") ? "" : "\n")"
            }.joined()
        }
    }
}

struct ChartImagesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "images",
        abstract: "List the images a chart's rendered objects will pull, with the template each comes from.")

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
