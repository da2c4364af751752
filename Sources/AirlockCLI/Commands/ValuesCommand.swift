import AirlockCore
import ArgumentParser
import Foundation

/// `airlock values`: from a pushed bundle to the values its charts install with at this site.
struct ValuesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "values",
        abstract: "Write the values each chart of a bundle installs with at this site, and check the install will find its images.",
        discussion: """
            Reads the bundle (verified: give --key or --allow-unsigned) or its unpacked folder, and the site file \
            (kind: Site: the private registry or push's mapping.json, the proxy, the CA files, the namespace, and the \
            Kubernetes secret holding each credential the bundle's endpoints read). For each chart it fills the vendor's \
            installValues template with the site's facts (a chart without one gets a generic overlay, \
            global.imageRegistry, and a warning) and writes, into --out: CHART.values.yaml for helm install -f, \
            ca-configmap.yaml (the CA bundle as a ConfigMap) when there are CA files, and secrets-needed.txt (which \
            secret and key each endpoint expects; never a value). With --check it then renders each chart with its \
            values, as helm install will, and looks up every image the render names in the private registry: one \
            line per image that would fail, and exit 1.
            """
    )

    @Argument(help: ArgumentHelp("The bundle (pushed already), or the folder it was unpacked into.", valueName: "BUNDLE|DIR"))
    var source: String
    @Option(name: .long, help: ArgumentHelp("The site file (kind: Site).", valueName: "FILE")) var site: String
    @Option(name: [.short, .customLong("out")], help: ArgumentHelp("Where to write the values files.", valueName: "DIR"))
    var out = "airlock-values"
    @Flag(name: .long, help: "Render each chart with its values and check every image it names is in the private registry.")
    var check = false
    @OptionGroup var trust: TrustOptions
    @OptionGroup var registryOptions: RegistryOptions
    @OptionGroup var outputOptions: OutputOptions

    func run() async throws {
        let report = try await InstallValues.run(
            .init(
                source: source,
                site: try Site.load(path: site),
                outputDirectory: out,
                policy: try trust.policy(),
                check: check,
                transport: try registryOptions.transport()
            )
        )
        for warning in report.warnings { note("warning: \(warning)") }
        try outputOptions.emit(report) { render(report) }
        if let failed = report.check?.filter({ !$0.ok }), let first = failed.first {
            throw AirlockFailure(
                message: "\(failed.count) image(s) the charts render are not in \(report.registry); first: \(first.image): \(first.detail)",
                status: .checkFailed
            )
        }
    }

    private func render(_ report: InstallValues.Report) -> String {
        var text = ""
        for chart in report.charts {
            let from = chart.from == "template" ? "the vendor's template" : "generic overlay"
            text += "\(report.directory)/\(chart.file)  chart \(chart.name) \(chart.version) (\(from))\n"
        }
        for file in report.files where file.hasSuffix(".yaml") == false || file == "ca-configmap.yaml" {
            text += "\(report.directory)/\(file)\n"
        }
        for secret in report.secrets {
            text += "  secret \(secret.secret) key \(secret.key)  ← endpoint \(secret.endpoint) \(secret.use)\n"
        }
        if let checked = report.check {
            for image in checked {
                text += "  \(image.ok ? "ok    " : "FAILED") \(image.chart): \(image.image)  \(image.detail)\n"
            }
            let missing = checked.filter { !$0.ok }.count
            text +=
                missing == 0
                ? "every image the charts render (\(checked.count)) is in \(report.registry)\n"
                : "\(missing) of \(checked.count) image(s) would fail to pull\n"
        }
        return text
    }
}
