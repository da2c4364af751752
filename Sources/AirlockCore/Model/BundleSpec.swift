import Foundation
import HelmTemplate
import OCI
import StrictYAML

/// The builder's `airlock.yaml` (`apiVersion: airlock/v1`, `kind: Bundle`).
public struct BundleSpec: Sendable {
    public struct Metadata: Sendable {
        public var name: String
        public var version: String
        /// RFC 3339 text as written, if any.
        public var created: String?
    }

    /// Where an image comes from.
    public enum ImageSource: Sendable, Equatable {
        /// A registry reference (pulled at pack time).
        case registry(ImageReference)
        /// An OCI image layout directory, one image selected by its ref name (or the only one).
        case layout(path: String, select: String?)
        /// A `docker save` archive.
        case archive(path: String, select: String?)
    }

    public struct Image: Sendable {
        public var source: ImageSource
        /// The reference the image carries in the bundle.
        public var name: ImageReference?
        public var platforms: [Platform]
        public var referrers: Bool
        /// The source as written in the spec (recorded instead of host paths).
        public var written: String
        /// `file:line` for messages.
        public var location: String
    }

    public enum ChartSource: Sendable, Equatable {
        case path(String)
        case oci(String)
        case repository(url: String, name: String, version: String)
    }

    public struct Chart: Sendable {
        public var source: ChartSource
        /// The path or reference as written in the spec.
        public var written: String
        public var location: String
        /// How the chart will be installed (`values:`, `set:`, `releaseName`, `namespace`,
        /// `kubeVersion`): pack renders it with exactly these to find its images.
        public var install = ChartRendering.InstallSettings()
        /// The values files as written in the spec, beside their resolved paths in `install`.
        public var valuesWritten: [String] = []
        /// `installValues:`: the vendor's template of the site's values (resolved path), carried
        /// in the bundle for `airlock values`.
        public var installValues: String?
    }

    public struct FileItem: Sendable {
        public var path: String
        /// The path as written in the spec (recorded in the bundle instead of host paths).
        public var written: String
        /// The name under `files/` in the bundle.
        public var destination: String
        public var location: String
    }

    public var metadata: Metadata
    public var images: [Image]
    public var charts: [Chart]
    /// Paths of ModelEndpoint files, resolved against the spec's folder.
    public var endpoints: [(path: String, location: String)]
    /// Paths of Egress files (the network paths the platform needs and those it must not have).
    public var egress: [(path: String, location: String)] = []
    public var files: [FileItem]
    /// `attest: true`: sign a delivery attestation for every image and chart (as `pack --attest`).
    public var attest = false
    /// The folder relative paths are resolved against.
    public var baseDirectory: String
    public var file: String
}

extension BundleSpec {
    public static let apiVersion = "airlock/v1"

    /// Reads `airlock.yaml` strictly: unknown keys, wrong shapes, missing files and bad references
    /// are errors naming the file and line.
    public static func load(path: String) throws -> BundleSpec {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InputError(file: path, line: nil, "no such file or not readable (give the spec with -f)")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw InputError(file: path, line: nil, "not UTF-8 text") }
        let documents = try parseDocuments(text, file: path)
        guard documents.count == 1, let document = documents.first else {
            throw InputError(file: path, line: nil, "expected one Bundle document, found \(documents.count)")
        }
        let base = URL(fileURLWithPath: path).deletingLastPathComponent().path
        return try parse(document, baseDirectory: base, file: path)
    }

    static func parse(_ document: YAMLNode, baseDirectory: String, file: String) throws -> BundleSpec {
        let top = try document.mapping(allowed: [
            "apiVersion", "kind", "metadata", "attest", "images", "charts", "endpoints", "egress", "files",
        ])
        let version = try top.string("apiVersion")
        guard version == apiVersion else { throw top["apiVersion"]!.error("must be \(apiVersion), not \(version)") }
        let kind = try top.string("kind")
        guard kind == "Bundle" else { throw top["kind"]!.error("must be Bundle, not \(kind)") }
        guard let metadataNode = top["metadata"] else { throw document.error("missing required key \"metadata\"") }
        let metadataMap = try metadataNode.mapping(allowed: ["name", "version", "created", "labels", "annotations"])
        let metadata = Metadata(
            name: try metadataMap.string("name"),
            version: try metadataMap.string("version"),
            created: try metadataMap.optionalString("created")
        )
        guard isSafeName(metadata.name) else {
            throw metadataMap["name"]!.error("must be letters, digits, '.', '_' or '-' (it names the bundle file)")
        }
        guard isSafeName(metadata.version) else {
            throw metadataMap["version"]!.error("must be letters, digits, '.', '_', '+' or '-' (it names the bundle file)")
        }
        if let created = metadata.created, parseRFC3339(created) == nil {
            throw metadataMap["created"]!.error("\"\(created)\" is not an RFC 3339 time such as 2026-11-01T00:00:00Z")
        }
        let resolver = PathResolver(base: baseDirectory)
        var spec = BundleSpec(
            metadata: metadata,
            images: [],
            charts: [],
            endpoints: [],
            files: [],
            baseDirectory: baseDirectory,
            file: file
        )
        spec.images = try top.list("images").map { try parseImage($0, resolver) }
        spec.charts = try top.list("charts").map { try parseChart($0, resolver) }
        spec.endpoints = try top.list("endpoints").map { node in
            let map = try node.mapping(allowed: ["path"])
            return (try resolver.existing(map, "path", kind: .file), locate(node))
        }
        spec.egress = try top.list("egress").map { node in
            let map = try node.mapping(allowed: ["path"])
            return (try resolver.existing(map, "path", kind: .file), locate(node))
        }
        spec.files = try top.list("files").map { try parseFile($0, resolver) }
        spec.attest = try top["attest"]?.bool() ?? false
        try spec.checkDuplicates(top)
        return spec
    }

    private static func parseImage(_ node: YAMLNode, _ resolver: PathResolver) throws -> Image {
        let map = try node.mapping(allowed: ["ref", "layout", "archive", "select", "name", "platforms", "referrers"])
        let given = ["ref", "layout", "archive"].filter { map[$0] != nil }
        guard given.count == 1 else { throw node.error("give exactly one of ref, layout or archive") }
        let name = try map["name"].map { nameNode in
            do { return try ImageReference(try nameNode.scalar()) } catch { throw nameNode.error("\(error)") }
        }
        let source: ImageSource
        switch given[0] {
        case "ref":
            let refNode = map["ref"]!
            do { source = .registry(try ImageReference(try refNode.scalar())) } catch let error as OCIError {
                throw refNode.error("\(error)")
            }
            if map["select"] != nil { throw map["select"]!.error("select applies to layout and archive sources only") }
        case "layout":
            source = .layout(path: try resolver.existing(map, "layout", kind: .directory), select: try map.optionalString("select"))
        default:
            source = .archive(path: try resolver.existing(map, "archive", kind: .file), select: try map.optionalString("select"))
        }
        let platforms = try map.list("platforms").map { platformNode in
            do { return try Platform(parsing: try platformNode.scalar()) } catch { throw platformNode.error("\(error)") }
        }
        let referrers = try map["referrers"]?.bool() ?? false
        if referrers, given[0] != "ref" {
            throw map["referrers"]!.error("referrers: true applies to images pulled with ref: (a layout or archive carries no referrers)")
        }
        return Image(
            source: source,
            name: name,
            platforms: platforms,
            referrers: referrers,
            written: try map.string(given[0]),
            location: locate(node)
        )
    }

    private static let chartInstallKeys: Set<String> = ["values", "set", "releaseName", "namespace", "kubeVersion", "installValues"]

    private static func parseChart(_ node: YAMLNode, _ resolver: PathResolver) throws -> Chart {
        let map = try node.mapping(allowed: Set(["path", "ref", "repo", "name", "version"]).union(chartInstallKeys))
        let sourceKeys = map.keys.subtracting(chartInstallKeys)
        var chart: Chart
        if map["path"] != nil {
            guard sourceKeys == ["path"] else { throw node.error("a chart path takes no other source keys (name, version, ref, repo)") }
            chart = Chart(
                source: .path(try resolver.existing(map, "path", kind: .any)),
                written: try map.string("path"),
                location: locate(node)
            )
        } else if let ref = try map.optionalString("ref") {
            guard sourceKeys == ["ref"] else { throw node.error("a chart ref takes no other source keys (name, version, path, repo)") }
            guard ref.hasPrefix("oci://") else { throw map["ref"]!.error("chart refs look like oci://host/path/chart:version") }
            chart = Chart(source: .oci(ref), written: ref, location: locate(node))
        } else if map["repo"] != nil {
            let (url, name, version) = (try map.string("repo"), try map.string("name"), try map.string("version"))
            chart = Chart(
                source: .repository(url: url, name: name, version: version),
                written: "\(url) \(name)@\(version)",
                location: locate(node)
            )
        } else {
            throw node.error("give one of path, ref, or repo with name and version")
        }
        for valuesNode in try map.list("values") {
            let written = try valuesNode.scalar()
            let full =
                written.hasPrefix("/")
                ? written : URL(fileURLWithPath: resolver.base).appendingPathComponent(written).standardizedFileURL.path
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue else {
                throw valuesNode.error("values file \(written) does not exist (resolved to \(full))")
            }
            chart.install.valuesFiles.append(full)
            chart.valuesWritten.append(written)
        }
        if let setNode = map["set"] {
            chart.install.set = try setNode.entries().map { key, value in (key, try value.yamlText()) }
        }
        if map["installValues"] != nil { chart.installValues = try resolver.existing(map, "installValues", kind: .file) }
        if let release = try map.optionalString("releaseName") { chart.install.releaseName = release }
        if let namespace = try map.optionalString("namespace") { chart.install.namespace = namespace }
        if let kubeVersion = try map.optionalString("kubeVersion") {
            guard SemanticVersion(lenient: kubeVersion) != nil else {
                throw map["kubeVersion"]!.error("kubeVersion must be a version such as 1.31.2 or v1.31")
            }
            chart.install.kubeVersion = kubeVersion
        }
        return chart
    }

    private static func parseFile(_ node: YAMLNode, _ resolver: PathResolver) throws -> FileItem {
        let map = try node.mapping(allowed: ["path", "as"])
        let path = try resolver.existing(map, "path", kind: .file)
        let destination: String
        if let explicit = try map.optionalString("as") {
            destination = explicit
        } else {
            let written = try map.string("path")
            destination =
                written.hasPrefix("/") || written.split(separator: "/").contains("..")
                ? URL(fileURLWithPath: written).lastPathComponent
                : written.split(separator: "/").filter { $0 != "." }.joined(separator: "/")
        }
        do { _ = try EntryPath("files/" + destination) } catch {
            throw (map["as"] ?? map["path"]!).error("\"\(destination)\" cannot name a file in the bundle: \(error)")
        }
        return FileItem(path: path, written: try map.string("path"), destination: destination, location: locate(node))
    }

    private func checkDuplicates(_ top: YAMLMapping) throws {
        var seen: [String: String] = [:]
        for file in files {
            if let first = seen[file.destination] {
                throw InputError(
                    file: self.file,
                    line: nil,
                    "files: two files would both be files/\(file.destination) (\(first) and \(file.location)); rename one with as:"
                )
            }
            seen[file.destination] = file.location
        }
    }
}

/// `file:line` of a node.
func locate(_ node: YAMLNode) -> String {
    node.line.map { "\(node.file):\($0)" } ?? node.file
}

/// Resolves paths written in the spec against its folder and checks they exist.
struct PathResolver {
    enum Kind { case file, directory, any }
    let base: String

    func existing(_ map: YAMLMapping, _ key: String, kind: Kind) throws -> String {
        let written = try map.string(key)
        let full = written.hasPrefix("/") ? written : URL(fileURLWithPath: base).appendingPathComponent(written).standardizedFileURL.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory) else {
            throw map[key]!.error("\(written) does not exist (resolved to \(full))")
        }
        switch kind {
        case .file where isDirectory.boolValue: throw map[key]!.error("\(written) is a directory, expected a file")
        case .directory where !isDirectory.boolValue: throw map[key]!.error("\(written) is not a directory")
        default: return full
        }
    }
}

func isSafeName(_ text: String) -> Bool {
    !text.isEmpty && text.count <= 128 && !text.hasPrefix(".")
        && text.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) && $0.isASCII || "._+-".unicodeScalars.contains($0) }
}
