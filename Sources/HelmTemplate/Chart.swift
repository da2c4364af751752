import Foundation

/// A chart as Helm's loader reads it from its files: metadata, default values, templates, other
/// files, and its subcharts (folders or archives under `charts/`).
public final class HelmChart {
    public var name: String
    public var metadata: MapBox
    public var values: MapBox
    public var templates: [(name: String, text: String)]
    public var files: [(name: String, data: [UInt8])]
    public var subcharts: [HelmChart]
    public var dependencies: [Dependency]
    public weak var parent: HelmChart?
    /// Where the chart came from, for messages (`keycloak-25.4.0.tgz`, `charts/postgresql`).
    public var origin: String

    public struct Dependency {
        public var name: String
        public var version: String
        public var repository: String
        public var condition: String
        public var tags: [String]
        public var alias: String
        public var importValues: [TemplateValue]
        public var enabled = true
    }

    public var version: String { metadata.storage["Version"]?.stringValue ?? "" }
    public var appVersion: String { metadata.storage["AppVersion"]?.stringValue ?? "" }
    public var isLibrary: Bool { metadata.storage["Type"]?.stringValue?.lowercased() == "library" }
    public var isRoot: Bool { parent == nil }

    /// `chart/charts/sub/charts/subsub`: how Helm names a chart's templates.
    public var fullPath: String {
        guard let parent else { return name }
        return parent.fullPath + "/charts/" + name
    }

    public struct LoadError: Error, CustomStringConvertible {
        public var description: String
    }

    init(
        name: String,
        metadata: MapBox,
        values: MapBox,
        templates: [(String, String)],
        files: [(String, [UInt8])],
        subcharts: [HelmChart],
        dependencies: [Dependency],
        origin: String
    ) {
        self.name = name
        self.metadata = metadata
        self.values = values
        self.templates = templates
        self.files = files
        self.subcharts = subcharts
        self.dependencies = dependencies
        self.origin = origin
        for subchart in subcharts { subchart.parent = self }
    }

    /// Reads a chart from its files (paths relative to the chart's folder). `unpack` turns a
    /// subchart archive's bytes into its files (paths inside its top folder).
    public static func load(
        files: [String: [UInt8]],
        origin: String,
        unpack: ([UInt8], String) throws -> [String: [UInt8]]
    ) throws -> HelmChart {
        guard let chartYAML = files["Chart.yaml"] else { throw LoadError(description: "\(origin): no Chart.yaml") }
        let metadataValue: TemplateValue
        do {
            metadataValue = try GoYAMLDecoder.decode(String(decoding: chartYAML, as: UTF8.self))
        } catch {
            throw LoadError(description: "\(origin): Chart.yaml: \(error)")
        }
        guard case .map(let raw) = metadataValue, let name = raw["name"]?.stringValue else {
            throw LoadError(description: "\(origin): Chart.yaml has no name")
        }
        var values = MapBox()
        if let bytes = files["values.yaml"] {
            do {
                let decoded = try GoYAMLDecoder.decode(String(decoding: bytes, as: UTF8.self))
                if case .map(let box) = decoded { values = box }
            } catch {
                throw LoadError(description: "\(origin): values.yaml: \(error)")
            }
        }
        let dependencies = Self.dependencies(raw, requirements: files["requirements.yaml"])
        var templates: [(String, String)] = []
        var other: [(String, [UInt8])] = []
        var subchartFiles: [String: [String: [UInt8]]] = [:]
        var subchartArchives: [(String, [UInt8])] = []
        let special: Set<String> = [
            "Chart.yaml", "values.yaml", "Chart.lock", "requirements.yaml", "requirements.lock", "values.schema.json",
        ]
        for path in files.keys.sorted() {
            let data = files[path]!
            if special.contains(path) { continue }
            if path.hasPrefix("templates/") {
                templates.append((path, String(decoding: data, as: UTF8.self)))
            } else if path.hasPrefix("charts/") {
                let rest = path.dropFirst("charts/".count)
                if let slash = rest.firstIndex(of: "/") {
                    subchartFiles[String(rest[..<slash]), default: [:]][String(rest[rest.index(after: slash)...])] = data
                } else if rest.hasSuffix(".tgz") || rest.hasSuffix(".tar.gz") {
                    subchartArchives.append((String(rest), data))
                } else {
                    other.append((path, data))
                }
            } else {
                other.append((path, data))
            }
        }
        var subcharts: [HelmChart] = []
        for folder in subchartFiles.keys.sorted() where subchartFiles[folder]!["Chart.yaml"] != nil {
            subcharts.append(try load(files: subchartFiles[folder]!, origin: "\(origin): charts/\(folder)", unpack: unpack))
        }
        for (file, bytes) in subchartArchives {
            subcharts.append(try load(files: try unpack(bytes, file), origin: "\(origin): charts/\(file)", unpack: unpack))
        }
        return HelmChart(
            name: name,
            metadata: metadataMap(raw, dependencies: dependencies),
            values: values,
            templates: templates,
            files: other,
            subcharts: subcharts,
            dependencies: dependencies,
            origin: origin
        )
    }

    /// `dependencies:` of Chart.yaml, or of `requirements.yaml` for a chart of API version 1.
    private static func dependencies(_ chartYAML: MapBox, requirements: [UInt8]?) -> [Dependency] {
        var dependencyList = chartYAML["dependencies"]?.listValue ?? []
        if dependencyList.isEmpty, let requirements,
            case .map(let box)? = try? GoYAMLDecoder.decode(String(decoding: requirements, as: UTF8.self))
        {
            dependencyList = box["dependencies"]?.listValue ?? []
        }
        return dependencyList.compactMap { item in
            guard case .map(let box) = item else { return nil }
            return Dependency(
                name: box["name"]?.stringValue ?? "",
                version: box["version"]?.stringValue ?? "",
                repository: box["repository"]?.stringValue ?? "",
                condition: box["condition"]?.stringValue ?? "",
                tags: (box["tags"]?.listValue ?? []).compactMap(\.stringValue),
                alias: box["alias"]?.stringValue ?? "",
                importValues: box["import-values"]?.listValue ?? []
            )
        }
    }

    /// Helm v4's `MetadataAsMap`: the `Chart.yaml` fields under their Go names.
    static func metadataMap(_ raw: MapBox, dependencies: [Dependency]) -> MapBox {
        func string(_ key: String) -> TemplateValue { .string(raw[key]?.stringValue ?? raw[key].map { stringValue($0) } ?? "") }
        func strings(_ key: String) -> TemplateValue { .list((raw[key]?.listValue ?? []).map { .string(stringValue($0)) }) }
        let maintainers: [TemplateValue] = (raw["maintainers"]?.listValue ?? []).map { item in
            let box = item.mapValue ?? MapBox()
            return .map(
                MapBox([
                    "Name": .string(box["name"]?.stringValue ?? ""), "Email": .string(box["email"]?.stringValue ?? ""),
                    "URL": .string(box["url"]?.stringValue ?? ""),
                ])
            )
        }
        var annotations: TemplateValue = .null
        if case .map(let box)? = raw["annotations"] {
            annotations = .map(MapBox(box.storage.mapValues { .string(stringValue($0)) }, element: "string"))
        }
        return MapBox([
            "Name": string("name"), "Home": string("home"), "Sources": strings("sources"), "Version": string("version"),
            "Description": string("description"), "Keywords": strings("keywords"), "Maintainers": .list(maintainers),
            "Icon": string("icon"), "APIVersion": string("apiVersion"), "Condition": string("condition"), "Tags": string("tags"),
            "AppVersion": string("appVersion"), "Deprecated": .bool(raw["deprecated"].map(\.isTruthy) ?? false),
            "Annotations": annotations, "KubeVersion": string("kubeVersion"), "Type": string("type"),
            "Dependencies": .list(dependencies.map(dependencyMap)),
        ])
    }

    static func dependencyMap(_ dependency: Dependency) -> TemplateValue {
        .map(
            MapBox([
                "Name": .string(dependency.name), "Version": .string(dependency.version), "Repository": .string(dependency.repository),
                "Condition": .string(dependency.condition), "Tags": .list(dependency.tags.map { .string($0) }),
                "Enabled": .bool(dependency.enabled), "ImportValues": .list(dependency.importValues), "Alias": .string(dependency.alias),
            ])
        )
    }

    /// A copy under another name (an alias), sharing templates and files.
    func copy(named newName: String) -> HelmChart {
        let metadata = MapBox(self.metadata.storage)
        metadata["Name"] = .string(newName)
        let clone = HelmChart(
            name: newName,
            metadata: metadata,
            values: values,
            templates: templates,
            files: files,
            subcharts: subcharts.map { $0.copy(named: $0.name) },
            dependencies: dependencies,
            origin: origin
        )
        return clone
    }
}
