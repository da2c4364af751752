import Foundation

/// How a chart is to be installed: what Helm's `template` and `install` take besides values.
public struct RenderOptions: Sendable {
    public var releaseName: String
    public var namespace: String
    /// `--kube-version`; Helm v4's default when nil.
    public var kubeVersion: String?
    /// `--api-versions` added to Helm's defaults.
    public var apiVersions: [String]

    public init(releaseName: String = "release", namespace: String = "default", kubeVersion: String? = nil, apiVersions: [String] = []) {
        self.releaseName = releaseName
        self.namespace = namespace
        self.kubeVersion = kubeVersion
        self.apiVersions = apiVersions
    }
}

/// Renders a chart as `helm template` does: dependencies processed against the values, values
/// coalesced, every template of the chart tree parsed into one set and executed in Helm's order.
public enum HelmRenderer {
    /// Every function a chart may call, by name.
    public static var functions: [String: TemplateFunction] {
        var table: [String: TemplateFunction] = [:]
        for group in [GoBuiltins.all, SprigStrings.all, SprigCollections.all, SprigNumbers.all, HelmFunctions.all, SprigUnstable.all] {
            table.merge(group) { _, new in new }
        }
        return table
    }

    /// The rendered text of each template, keyed as Helm keys them
    /// (`chart/charts/sub/templates/deployment.yaml`); partials (`_*.tpl`) are left out.
    public static func render(_ chart: HelmChart, values: MapBox, options: RenderOptions) throws -> [String: String] {
        try LargeStack.run { try renderOnThisThread(chart, values: values, options: options) }
    }

    /// Runs one template outside any chart (a vendor's install-values template) with `data` as
    /// dot, every chart function available; `<no value>` is left out as Helm leaves it out.
    public static func render(templateNamed name: String, source: String, data: TemplateValue) throws -> String {
        try LargeStack.run {
            let set = TemplateSet(functions: functions)
            try set.parse(name: name, source: source)
            return try set.execute(name, data: data).replacingAll("<no value>", with: "")
        }
    }

    /// Parses one template outside any chart, for its syntax errors only.
    public static func checkSyntax(templateNamed name: String, source: String) throws {
        try TemplateSet(functions: functions).parse(name: name, source: source)
    }

    private static func renderOnThisThread(_ chart: HelmChart, values: MapBox, options: RenderOptions) throws -> [String: String] {
        HelmValues.processDependencies(chart, values)
        let capabilities = HelmObjects.capabilities(
            kubeVersion: options.kubeVersion ?? HelmObjects.defaultKubeVersion,
            apiVersions: HelmObjects.defaultAPIVersions + options.apiVersions
        )
        let release = TemplateValue.map(
            MapBox([
                "Name": .string(options.releaseName), "Namespace": .string(options.namespace), "IsUpgrade": .bool(false),
                "IsInstall": .bool(true), "Revision": .integer(1), "Service": .string("Helm"),
            ])
        )
        let top = MapBox([
            "Values": .map(HelmValues.coalesce(chart, values, merge: false)),
            "Release": release, "Capabilities": capabilities,
        ])
        var templates: [String: (text: String, scope: MapBox, basePath: String)] = [:]
        collect(chart, parentScope: top, into: &templates)
        let set = TemplateSet(functions: functions)
        // Helm's `sortTemplates`: deepest paths first, then reverse name order (so a parent's
        // definitions, parsed last, win).
        let order: [String] = templates.keys.map { name -> (String, Int) in (name, name.utf8.reduce(0) { $1 == 0x2F ? $0 + 1 : $0 }) }
            .sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 > $1.0 }.map(\.0)
        for name in order {
            try set.parse(name: name, source: templates[name]!.text)
        }
        var rendered: [String: String] = [:]
        for name in order where !SprigStrings.goPathBase(name).hasPrefix("_") {
            let template = templates[name]!
            template.scope["Template"] = .map(MapBox(["Name": .string(name), "BasePath": .string(template.basePath)]))
            let output = try set.execute(name, data: .map(template.scope))
            rendered[name] = output.replacingAll("<no value>", with: "")
        }
        return rendered
    }

    /// Helm's `recAllTpls`: each chart's scope (`.Chart`, `.Values`, `.Files`, `.Subcharts`...)
    /// and its templates.
    @discardableResult
    private static func collect(
        _ chart: HelmChart,
        parentScope: MapBox,
        into templates: inout [String: (text: String, scope: MapBox, basePath: String)]
    ) -> MapBox {
        let metadata = MapBox(chart.metadata.storage)
        metadata["IsRoot"] = .bool(chart.isRoot)
        let subcharts = MapBox()
        var values = TemplateValue.map(MapBox())
        if chart.isRoot {
            values = parentScope["Values"] ?? values
        } else if case .map(let parentValues)? = parentScope["Values"], case .map(let own)? = parentValues[chart.name] {
            values = .map(own)
        }
        let scope = MapBox([
            "Chart": .map(metadata), "Files": HelmObjects.files(chart.files), "Release": parentScope["Release"] ?? .null,
            "Capabilities": parentScope["Capabilities"] ?? .null, "Values": values, "Subcharts": .map(subcharts),
        ])
        for subchart in chart.subcharts {
            subcharts[subchart.name] = .map(collect(subchart, parentScope: scope, into: &templates))
        }
        let base = chart.fullPath
        for (name, text) in chart.templates {
            if chart.isLibrary, !SprigStrings.goPathBase(name).hasPrefix("_") { continue }
            templates[base + "/" + name] = (text, scope, base + "/templates")
        }
        return scope
    }

}

/// Runs work on a thread with a stack deep enough for templates that include templates a
/// thousand levels down (Helm's limit per name), which the default thread stacks are not.
enum LargeStack {
    static let size = 512 << 20

    static func run<T>(_ body: @escaping () throws -> T) throws -> T {
        let box = ResultBox<T>(body)
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            box.result = Result { try box.work() }
            done.signal()
        }
        thread.stackSize = size
        thread.start()
        done.wait()
        return try box.result!.get()
    }
}

/// A result handed from the worker thread to the waiting one.
private final class ResultBox<T>: @unchecked Sendable {
    // @unchecked: the caller waits on a semaphore while the worker thread runs `work` and writes
    // `result`; only one thread touches the box at a time.
    let work: () throws -> T
    var result: Result<T, Error>?

    init(_ work: @escaping () throws -> T) { self.work = work }
}
