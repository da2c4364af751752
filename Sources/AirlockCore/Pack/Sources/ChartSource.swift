import BundleIO
import Foundation
import HelmTemplate
import OCI
import StrictYAML

/// Helm charts from a chart directory (packaged reproducibly) or a packaged `.tgz`, stored as Helm
/// OCI artifacts in the bundle's layout.
enum ChartSource {
    struct ChartMetadata {
        var name: String
        var version: String
        var description: String?
        /// Chart.yaml as JSON, the artifact's config blob.
        var configJSON: [UInt8]
    }

    /// Stores the chart as a Helm OCI artifact: config = Chart.yaml as JSON, one layer = the `.tgz`.
    static func addArtifact(
        metadata: ChartMetadata,
        archive: ContentStore.Ingested,
        source: String,
        location: String,
        created: Int64,
        store: ContentStore,
        into contents: inout PackContents
    ) throws {
        let config = try store.ingest(bytes: metadata.configJSON, what: "\(location): chart config")
        var annotations = [
            "org.opencontainers.image.title": metadata.name,
            "org.opencontainers.image.version": metadata.version,
            "org.opencontainers.image.created": formatRFC3339(created),
        ]
        annotations["org.opencontainers.image.description"] = metadata.description
        // Like `helm push`: no top-level mediaType, the chart .tgz as the only layer.
        let manifest = ImageManifest(
            mediaType: nil,
            config: Descriptor(mediaType: MediaType.helmConfig, digest: config.digest, size: config.size),
            layers: [Descriptor(mediaType: MediaType.helmChart, digest: archive.digest, size: archive.size)],
            annotations: annotations
        )
        let stored = try store.ingest(bytes: try CanonicalJSON.encode(manifest), what: "\(location): chart manifest")
        contents.addBlob(stored.digest, size: stored.size, role: .manifest)
        contents.addBlob(config.digest, size: config.size, role: .config)
        contents.addBlob(archive.digest, size: archive.size, role: .layer)
        let ref = "charts/\(metadata.name):\(metadata.version.replacingOccurrences(of: "+", with: "_"))"
        var root = Descriptor(mediaType: MediaType.ociManifest, digest: stored.digest, size: stored.size)
        root.artifactType = MediaType.helmConfig
        try contents.tag(root, refName: ref, kind: .chart, location: location)
        contents.charts.append(
            BundlePredicate.Chart(
                name: metadata.name,
                version: metadata.version,
                source: source,
                digest: stored.digest,
                chartDigest: archive.digest,
                ref: ref
            )
        )
    }

    /// Reads name, version and description, and renders Chart.yaml as JSON with sorted keys.
    static func readMetadata(yaml: [UInt8], file: String) throws -> ChartMetadata {
        guard let text = String(bytes: yaml, encoding: .utf8) else { throw InputError(file: file, line: nil, "not UTF-8") }
        guard let document = try parseDocuments(text, file: file).first else { throw InputError(file: file, line: nil, "empty Chart.yaml") }
        guard let plain = try document.plainValue(booleanKeys: ["deprecated", "enabled"]) as? [String: Any] else {
            throw InputError(file: file, line: document.line, "Chart.yaml must be a mapping")
        }
        guard let name = plain["name"] as? String, !name.isEmpty else { throw InputError(file: file, line: nil, "Chart.yaml has no name") }
        guard name.range(of: "^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$", options: .regularExpression) != nil else {
            throw InputError(file: file, line: nil, "chart name \"\(name)\" must be lowercase letters, digits, '.', '_' or '-'")
        }
        guard let version = plain["version"] as? String, isSemVer(version) else {
            throw InputError(file: file, line: nil, "Chart.yaml version must be SemVer 2 (e.g. 1.2.3)")
        }
        guard let apiVersion = plain["apiVersion"] as? String, ["v1", "v2"].contains(apiVersion) else {
            throw InputError(file: file, line: nil, "Chart.yaml apiVersion must be v1 or v2")
        }
        let json = try JSONSerialization.data(withJSONObject: plain, options: [.sortedKeys, .withoutEscapingSlashes])
        return ChartMetadata(name: name, version: version, description: plain["description"] as? String, configJSON: Array(json))
    }

    private static func readChartYAML(directory: String, what: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: "\(directory)/Chart.yaml") else {
            throw ChartError.noChartYAML(what: what)
        }
        return Array(data)
    }

    /// Chart.yaml of a packaged chart: the one at `<top>/Chart.yaml`.
    static func chartYAML(inArchive path: String, what: String) throws -> [UInt8] {
        let reader: TarReader
        do { reader = try TarReader(path: path, input: .anyTar) } catch {
            throw ChartError.notAnArchive(what: what, detail: "\(error)", orFolder: true)
        }
        return try chartYAML(reader, what: what)
    }

    /// Chart.yaml of a packaged chart held in memory.
    static func chartYAML(archive: [UInt8], what: String) throws -> [UInt8] {
        let reader: TarReader
        do { reader = try TarReader(bytes: archive, name: what) } catch {
            throw ChartError.notAnArchive(what: what, detail: "\(error)", orFolder: false)
        }
        return try chartYAML(reader, what: what)
    }

    private static func chartYAML(_ reader: TarReader, what: String) throws -> [UInt8] {
        defer { reader.close() }
        while let header = try reader.next() {
            let parts = header.path.split(separator: "/")
            if header.kind == .regular, parts.count == 2, parts[1] == "Chart.yaml" {
                return try reader.readAll(limit: 1 << 20)
            }
        }
        throw ChartError.noChartYAMLInArchive(what: what)
    }

    /// Packages a chart directory like `helm package`, but reproducibly: files in bytewise path
    /// order, fixed times and modes. `vendored` adds `charts/...` archives; any
    /// `charts/<name>-<version>.tgz` already in the folder for a name in `replacing` is left out.
    static func package(
        directory: String,
        metadata: ChartMetadata,
        created: Int64,
        store: ContentStore,
        what: String,
        vendored: [String: [UInt8]] = [:],
        replacing: Set<String> = []
    ) throws -> ContentStore.Ingested {
        let rules = HelmIgnore(
            text: (FileManager.default.contents(atPath: "\(directory)/.helmignore")).map { String(decoding: $0, as: UTF8.self) } ?? ""
        )
        let kept = try rules.files(in: directory, what: what).filter { file in
            guard file.hasPrefix("charts/"), !file.dropFirst("charts/".count).contains("/") else { return true }
            let name = String(file.dropFirst("charts/".count))
            return !replacing.contains { vendoredVersion(file: name, chart: $0) != nil }
        }
        let files = Set(kept).union(vendored.keys).sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        let temporary = "\(store.root)/tmp/\(UUID().uuidString).tgz"
        defer { unlink(temporary) }
        let writer = try TarGzWriter(destination: temporary, modificationTime: created)
        for file in files {
            guard let bytes = vendored[file] ?? FileManager.default.contents(atPath: "\(directory)/\(file)").map(Array.init) else {
                throw ChartError.unreadableFile(what: what, file: file)
            }
            try writer.add(path: "\(metadata.name)/\(file)", bytes: bytes)
        }
        try writer.finish()
        return try store.ingest(file: temporary, what: what)
    }
}
