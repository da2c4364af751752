import BundleIO
import Foundation
import HelmTemplate
import OCI

/// Renders charts with airlock's Helm engine (no helm binary, no network) and reads the images
/// the rendered objects name.
public enum ChartRendering {
    /// How the builder says the chart will be installed (`values:`, `set:`, `releaseName`,
    /// `namespace`, `kubeVersion` of a chart entry in `airlock.yaml`).
    public struct InstallSettings: Sendable {
        public var valuesFiles: [String]
        /// `set:` entries: a dotted path (as `helm --set` takes it) and the value, read as YAML.
        public var set: [(path: String, value: String)]
        public var releaseName: String
        public var namespace: String
        public var kubeVersion: String?

        public init(
            valuesFiles: [String] = [],
            set: [(path: String, value: String)] = [],
            releaseName: String = "release",
            namespace: String = "default",
            kubeVersion: String? = nil
        ) {
            self.valuesFiles = valuesFiles
            self.set = set
            self.releaseName = releaseName
            self.namespace = namespace
            self.kubeVersion = kubeVersion
        }
    }

    /// An image a rendered object names, and the template it came from.
    public struct RenderedImage: Sendable, Hashable {
        public var reference: String
        public var template: String
    }

    /// Reads a chart from a folder (`.helmignore` honoured) or a `.tgz`.
    public static func load(path: String) throws -> HelmChart {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ChartError.noSuchChart(path: path)
        }
        let files: [String: [UInt8]]
        if isDirectory.boolValue {
            files = try folderFiles(path)
        } else {
            guard let bytes = FileManager.default.contents(atPath: path) else { throw ChartError.unreadable(path: path) }
            files = try archiveFiles(Array(bytes), name: path)
        }
        return try load(files: files, origin: path)
    }

    static func load(files: [String: [UInt8]], origin: String) throws -> HelmChart {
        do {
            return try HelmChart.load(files: files, origin: origin) { bytes, name in
                try archiveFiles(bytes, name: "\(origin): charts/\(name)")
            }
        } catch let error as HelmChart.LoadError {
            throw ChartError.invalid(error.description)
        }
    }

    /// A chart folder's files as `helm package` would take them.
    static func folderFiles(_ directory: String) throws -> [String: [UInt8]] {
        let rules = HelmIgnore(
            text: (FileManager.default.contents(atPath: "\(directory)/.helmignore")).map { String(decoding: $0, as: UTF8.self) } ?? ""
        )
        var files: [String: [UInt8]] = [:]
        for file in try rules.files(in: directory, what: directory) {
            guard let bytes = FileManager.default.contents(atPath: "\(directory)/\(file)") else {
                throw ChartError.unreadableFile(what: directory, file: file)
            }
            files[file] = Array(bytes)
        }
        return files
    }

    /// A chart archive's files, keyed by path below its top folder.
    static func archiveFiles(_ archive: [UInt8], name: String) throws -> [String: [UInt8]] {
        let reader = try TarReader(bytes: archive, name: name)
        defer { reader.close() }
        var files: [String: [UInt8]] = [:]
        var total: Int64 = 0
        while let header = try reader.next() {
            guard header.kind == .regular else { continue }
            let parts = header.path.split(separator: "/", omittingEmptySubsequences: true)
            guard parts.count >= 2, !parts.contains("..") else { continue }
            total += header.size
            guard total <= 16 * LoadedChart.fileLimit else {
                throw ChartError.archiveTooLarge(name: name, limitMiB: Int64(16 * LoadedChart.fileLimit >> 20))
            }
            files[parts.dropFirst().joined(separator: "/")] = try reader.readAll(limit: LoadedChart.fileLimit)
        }
        return files
    }

    /// The user's values: each file merged over the last (maps key by key, as Helm's `-f`), then
    /// each `set:` path.
    public static func userValues(_ settings: InstallSettings, relativeTo base: String) throws -> MapBox {
        let values = MapBox()
        for file in settings.valuesFiles {
            let path = file.hasPrefix("/") ? file : "\(base)/\(file)"
            guard let bytes = FileManager.default.contents(atPath: path) else {
                throw ChartError.valuesFile(file: file, problem: "cannot read it")
            }
            let decoded: TemplateValue
            do {
                decoded = try GoYAMLDecoder.decode(String(decoding: bytes, as: UTF8.self))
            } catch {
                throw ChartError.valuesFile(file: file, problem: "\(error)")
            }
            switch decoded {
            case .map(let box): mergeValues(values, box)
            case .null: continue
            default: throw ChartError.valuesFile(file: file, problem: "must be a mapping")
            }
        }
        for (path, text) in settings.set {
            let value = (try? GoYAMLDecoder.decode(text)) ?? .string(text)
            var current = values
            let keys = path.split(separator: ".").map(String.init)
            for key in keys.dropLast() {
                if case .map(let inner)? = current[key] {
                    current = inner
                } else {
                    let inner = MapBox()
                    current[key] = .map(inner)
                    current = inner
                }
            }
            current[keys.last ?? path] = value
        }
        return values
    }

    private static func mergeValues(_ destination: MapBox, _ source: MapBox) {
        for (key, value) in source.storage {
            if case .map(let inner) = value, case .map(let existing)? = destination[key] {
                mergeValues(existing, inner)
            } else {
                destination[key] = value
            }
        }
    }

    /// The rendered templates of `chart` (partials left out), keyed as Helm keys them.
    public static func render(_ chart: HelmChart, values: MapBox, settings: InstallSettings) throws -> [String: String] {
        do {
            return try HelmRenderer.render(
                chart,
                values: values,
                options: RenderOptions(
                    releaseName: settings.releaseName,
                    namespace: settings.namespace,
                    kubeVersion: settings.kubeVersion
                )
            )
        } catch let error as TemplateError {
            throw ChartError.render(chart: chart.name, detail: "\(error)")
        }
    }

    /// The images rendered objects name: string values of keys named `image`, `imageName` or
    /// ending in `Image` (containers, init and ephemeral containers of every pod template, and
    /// custom resources alike) that read as image references, in Docker's normal form.
    public static func images(in rendered: [String: String]) throws -> [RenderedImage] {
        var found: Set<RenderedImage> = []
        for (template, text) in rendered where !template.hasSuffix("NOTES.txt") {
            let documents: [TemplateValue]
            do {
                documents = try GoYAMLDecoder.decodeAll(text)
            } catch {
                throw ChartError.notYAML(template: template, detail: "\(error)")
            }
            for document in documents {
                collect(document, template: template, into: &found)
            }
        }
        return found.sorted { ($0.reference, $0.template) < ($1.reference, $1.template) }
    }

    private static func collect(_ value: TemplateValue, template: String, into found: inout Set<RenderedImage>) {
        switch value {
        case .map(let box):
            for (key, child) in box.storage {
                let lower = key.lowercased()
                if case .string(let text) = child, lower == "imagename" || lower.hasSuffix("image"), let reference = normalise(text) {
                    found.insert(RenderedImage(reference: reference, template: template))
                }
                collect(child, template: template, into: &found)
            }
        case .list(let items, _):
            for item in items { collect(item, template: template, into: &found) }
        default:
            break
        }
    }

    /// The reference as Docker reads it (`:latest` when neither tag nor digest is given), or nil
    /// when the text is not an image reference.
    static func normalise(_ text: String) -> String? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, !trimmed.contains(" ") else { return nil }
        if let reference = try? ImageReference(trimmed) { return reference.description }
        return (try? ImageReference(trimmed + ":latest"))?.description
    }
}
