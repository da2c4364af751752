import AirlockCore
import ArgumentParser
import Foundation

/// The options `helm template` takes that decide what a chart renders.
struct ChartInstallOptions: ParsableArguments {
    @Argument(help: ArgumentHelp("A chart folder or .tgz (its dependencies vendored under charts/).", valueName: "CHART"))
    var chart: String

    @Option(name: [.customShort("f"), .long], help: ArgumentHelp("A values file (repeatable; later ones win).", valueName: "FILE"))
    var values: [String] = []

    @Option(
        name: .long,
        help: ArgumentHelp(
            "A value by dotted path, as helm --set takes it; the value is read as YAML (repeatable).",
            valueName: "PATH=VALUE"
        )
    )
    var set: [String] = []

    @Option(name: .long, help: "The release name (.Release.Name).")
    var releaseName = "release"

    @Option(name: .long, help: "The namespace (.Release.Namespace).")
    var namespace = "default"

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The cluster's Kubernetes version (.Capabilities.KubeVersion); Helm v4's default otherwise.",
            valueName: "VERSION"
        )
    )
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
