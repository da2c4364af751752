import BundleIO
import Foundation
import OCI
import StrictYAML

/// A dependency as `Chart.yaml` (or a v1 chart's `requirements.yaml`) declares it.
struct DeclaredDependency: Sendable, Equatable {
    var name: String
    /// The version constraint as written.
    var version: String
    var repository: String
    var alias: String?
    var condition: String?
    var tags: [String]

    /// The key the parent's values and `charts/` use for it.
    var key: String { alias ?? name }

    static func parse(_ plain: [String: Any], file: String) throws -> [DeclaredDependency] {
        guard let list = plain["dependencies"] else { return [] }
        guard let items = list as? [[String: Any]] else {
            throw InputError(file: file, line: nil, "dependencies must be a list of mappings")
        }
        return try items.enumerated().map { index, item in
            guard let name = item["name"] as? String, !name.isEmpty else {
                throw InputError(file: file, line: nil, "dependencies[\(index)] has no name")
            }
            return DeclaredDependency(
                name: name,
                version: (item["version"] as? String) ?? "",
                repository: (item["repository"] as? String) ?? "",
                alias: (item["alias"] as? String).flatMap { $0.isEmpty ? nil : $0 },
                condition: (item["condition"] as? String).flatMap { $0.isEmpty ? nil : $0 },
                tags: (item["tags"] as? [String]) ?? []
            )
        }
    }
}

/// A packaged chart read whole from its `.tgz`: metadata, default values, the literal `image:`
/// lines of its templates, and its subcharts (vendored `.tgz` files or folders under `charts/`).
struct LoadedChart {
    var name: String
    var version: String
    var appVersion: String?
    var declared: [DeclaredDependency]
    var values: [String: Any]
    /// Why the default values could not be read, if they could not.
    var valuesProblem: String?
    var templateImages: [(file: String, reference: String)]
    var subcharts: [Subchart]

    struct Subchart {
        var chart: LoadedChart
        /// sha256 of the vendored `.tgz`; nil for a subchart kept as a folder.
        var digest: String?
    }

    /// Every file of a chart archive is at most this large, and the archive at most 16× that.
    static let fileLimit: Int64 = 16 << 20

    /// Reads a chart `.tgz` (its files sit under one top folder).
    static func load(archive: [UInt8], name: String) throws -> LoadedChart {
        try load(files: try ChartRendering.archiveFiles(archive, name: name), name: name)
    }

    /// Reads a chart from its files, keyed by path relative to the chart's folder.
    static func load(files: [String: [UInt8]], name: String) throws -> LoadedChart {
        guard let chartYAML = files["Chart.yaml"] else { throw ChartError.loadedWithoutChartYAML(name: name) }
        let metadata = try readYAMLMapping(chartYAML, file: "\(name): Chart.yaml")
        guard let chartName = metadata["name"] as? String, let version = metadata["version"] as? String else {
            throw ChartError.noNameOrVersion(name: name)
        }
        var declared = try DeclaredDependency.parse(metadata, file: "\(name): Chart.yaml")
        if declared.isEmpty, let requirements = files["requirements.yaml"] {
            declared = try DeclaredDependency.parse(
                try readYAMLMapping(requirements, file: "\(name): requirements.yaml"),
                file: "\(name): requirements.yaml"
            )
        }
        var chart = LoadedChart(
            name: chartName,
            version: version,
            appVersion: metadata["appVersion"] as? String,
            declared: declared,
            values: [:],
            valuesProblem: nil,
            templateImages: [],
            subcharts: []
        )
        if let values = files["values.yaml"] ?? files["values.yml"] {
            do { chart.values = try readYAMLMapping(values, file: "values.yaml", allowEmpty: true) } catch {
                chart.valuesProblem = "\(error)"
            }
        }
        for (path, bytes) in files.sorted(by: { $0.key < $1.key }) where path.hasPrefix("templates/") {
            chart.templateImages += literalImages(in: bytes).map { (file: path, reference: $0) }
        }
        var folders: [String: [String: [UInt8]]] = [:]
        for (path, bytes) in files where path.hasPrefix("charts/") {
            let rest = path.dropFirst("charts/".count)
            if let slash = rest.firstIndex(of: "/") {
                folders[String(rest[..<slash]), default: [:]][String(rest[rest.index(after: slash)...])] = bytes
            } else if rest.hasSuffix(".tgz") {
                let sub = try load(archive: bytes, name: "\(name)/charts/\(rest)")
                chart.subcharts.append(Subchart(chart: sub, digest: Digest.sha256(of: bytes).description))
            }
        }
        for (folder, subfiles) in folders where subfiles["Chart.yaml"] != nil {
            chart.subcharts.append(Subchart(chart: try load(files: subfiles, name: "\(name)/charts/\(folder)"), digest: nil))
        }
        chart.subcharts.sort { ($0.chart.name, $0.chart.version) < ($1.chart.name, $1.chart.version) }
        return chart
    }

    /// The declaration a subchart answers to (by chart name, the way Helm matches them).
    func declaration(of subchart: LoadedChart) -> DeclaredDependency? {
        declared.first { $0.name == subchart.name }
    }
}

/// A YAML mapping with every scalar kept as text (so `tag: 1.10` stays "1.10").
func readYAMLMapping(_ bytes: [UInt8], file: String, allowEmpty: Bool = false) throws -> [String: Any] {
    guard let text = String(bytes: bytes, encoding: .utf8) else { throw InputError(file: file, line: nil, "not UTF-8") }
    guard let document = try parseDocuments(text, file: file).first else {
        if allowEmpty { return [:] }
        throw InputError(file: file, line: nil, "empty")
    }
    if let mapping = try document.plainValue() as? [String: Any] { return mapping }
    if allowEmpty, (try? document.scalar()) == "" { return [:] }
    throw InputError(file: file, line: document.line, "must be a mapping")
}

/// `image: ...` lines of a template that name an image outright (no template expressions).
func literalImages(in bytes: [UInt8]) -> [String] {
    String(decoding: bytes, as: UTF8.self).split(separator: "\n").compactMap { line in
        var text = line.trimmingCharacters(in: .whitespaces)
        if text.hasPrefix("- ") { text = String(text.dropFirst(2)).trimmingCharacters(in: .whitespaces) }
        guard text.hasPrefix("image:") else { return nil }
        var value = text.dropFirst("image:".count).trimmingCharacters(in: .whitespaces)
        if let hash = value.range(of: " #") { value = String(value[..<hash.lowerBound]).trimmingCharacters(in: .whitespaces) }
        value = value.trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
        guard !value.isEmpty, !value.contains("{{"), !value.contains(" ") else { return nil }
        return value
    }
}
