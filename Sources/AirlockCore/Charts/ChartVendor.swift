import BundleIO
import Foundation
import HelmTemplate
import OCI
import Registry
import Signing
import StrictYAML

/// Packages chart folders with their dependencies vendored, the way `helm dependency build` leaves
/// them: `charts/<name>-<version>.tgz` for each dependency, resolved from classic repositories
/// (`index.yaml`), OCI registries or `file://` folders (which are packaged, with their own
/// dependencies, recursively). `Chart.lock` pins the versions when it agrees with `Chart.yaml`.
/// A dependency already vendored in `charts/` (as `helm pull` or `helm dependency build` leaves
/// it, archive or folder) is used as it is and never fetched, so a chart that arrived complete
/// packs with no network.
struct ChartVendor {
    let remote: RegistrySource
    let created: Int64
    /// A vendored subchart outside its declared range fails the pack instead of warning.
    var strict = false
    let warn: @Sendable (String) -> Void

    var store: ContentStore { remote.store }

    /// Adds a chart from a folder (packaged, dependencies vendored) or a packaged `.tgz`.
    func add(path: String, written: String, location: String, into contents: inout PackContents) async throws {
        let what = "\(location): chart \(written)"
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        let metadata: ChartSource.ChartMetadata
        let archive: ContentStore.Ingested
        if isDirectory.boolValue {
            (metadata, archive) = try await package(directory: path, what: what, depth: 0)
        } else {
            metadata = try ChartSource.readMetadata(
                yaml: try ChartSource.chartYAML(inArchive: path, what: what),
                file: "\(written) Chart.yaml"
            )
            archive = try store.ingest(file: path, what: what)
        }
        try ChartSource.addArtifact(
            metadata: metadata,
            archive: archive,
            source: written,
            location: location,
            created: created,
            store: store,
            into: &contents
        )
    }

    /// Packages a chart folder with every dependency it declares under `charts/`.
    func package(directory: String, what: String, depth: Int) async throws -> (ChartSource.ChartMetadata, ContentStore.Ingested) {
        guard depth < 16 else { throw ChartError.nestedTooDeep(what: what) }
        guard let chartYAML = FileManager.default.contents(atPath: "\(directory)/Chart.yaml") else {
            throw ChartError.noChartYAML(what: what)
        }
        let metadata = try ChartSource.readMetadata(yaml: Array(chartYAML), file: "\(directory)/Chart.yaml")
        var declared = try DeclaredDependency.parse(
            try readYAMLMapping(Array(chartYAML), file: "\(directory)/Chart.yaml"),
            file: "\(directory)/Chart.yaml"
        )
        var lockName = "Chart.lock"
        if declared.isEmpty, let requirements = FileManager.default.contents(atPath: "\(directory)/requirements.yaml") {
            declared = try DeclaredDependency.parse(
                try readYAMLMapping(Array(requirements), file: "\(directory)/requirements.yaml"),
                file: "\(directory)/requirements.yaml"
            )
            lockName = "requirements.lock"
        }
        let locked = try lockedVersions(directory: directory, lockName: lockName, declared: declared, chart: metadata.name)
        var vendored: [String: [UInt8]] = [:]
        var fetched: Set<String> = []
        for dependency in declared {
            if try usesVendoredCopy(dependency, directory: directory, chart: metadata.name) { continue }
            guard
                let (file, bytes) = try await resolve(
                    dependency,
                    locked: locked[dependency.name],
                    directory: directory,
                    chart: metadata.name,
                    depth: depth
                )
            else { continue }
            vendored["charts/\(file)"] = bytes
            fetched.insert(dependency.name)
        }
        let archive = try ChartSource.package(
            directory: directory,
            metadata: metadata,
            created: created,
            store: store,
            what: what,
            vendored: vendored,
            replacing: fetched
        )
        return (metadata, archive)
    }

    /// Whether `charts/` already holds the dependency (`NAME-VERSION.tgz`, or a folder whose
    /// Chart.yaml names it), in which case it is packaged as it is. A `file://` dependency that
    /// points outside `charts/` is always packaged from its folder instead (it is local, and may
    /// have changed). A vendored version outside the declared range is a warning (an error with
    /// `--strict`).
    private func usesVendoredCopy(_ dependency: DeclaredDependency, directory: String, chart: String) throws -> Bool {
        let folder = "\(directory)/charts"
        if dependency.repository.hasPrefix("file://") {
            let target = URL(fileURLWithPath: directory).appendingPathComponent(String(dependency.repository.dropFirst("file://".count)))
                .standardizedFileURL.path
            guard target.hasPrefix(URL(fileURLWithPath: folder).standardizedFileURL.path + "/") else { return false }
        }
        guard let version = vendoredCopy(of: dependency.name, in: folder) else { return false }
        if let constraint = VersionConstraint(dependency.version), let parsed = SemanticVersion(lenient: version),
            !constraint.matches(parsed)
        {
            let message =
                """
                chart \(chart): dependency \(dependency.name) vendored in charts/ is version \(version), outside the declared range \
                \(dependency.version); it is packed as vendored
                """
            if strict { throw ChartError.strict(message) }
            warn(message)
        }
        return true
    }

    /// The version of the dependency vendored under `charts/`, if any.
    private func vendoredCopy(of name: String, in folder: String) -> String? {
        let entries = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
        for entry in entries {
            if let version = vendoredVersion(file: entry, chart: name) { return version }
            let chartYAML = "\(folder)/\(entry)/Chart.yaml"
            guard let bytes = FileManager.default.contents(atPath: chartYAML),
                let metadata = try? ChartSource.readMetadata(yaml: Array(bytes), file: chartYAML), metadata.name == name
            else { continue }
            return metadata.version
        }
        return nil
    }

    /// The versions `Chart.lock` pins, when it lists exactly the declared dependencies and each
    /// pinned version meets its constraint; a stale lock is reported and ignored.
    private func lockedVersions(
        directory: String,
        lockName: String,
        declared: [DeclaredDependency],
        chart: String
    ) throws -> [String: String] {
        guard let bytes = FileManager.default.contents(atPath: "\(directory)/\(lockName)") else { return [:] }
        let lock = try DeclaredDependency.parse(
            try readYAMLMapping(Array(bytes), file: "\(directory)/\(lockName)"),
            file: "\(directory)/\(lockName)"
        )
        var pinned: [String: String] = [:]
        var stale: [String] = []
        for dependency in declared {
            guard let entry = lock.first(where: { $0.name == dependency.name && $0.repository == dependency.repository }) else {
                stale.append("\(dependency.name) is not in it"); continue
            }
            guard let version = SemanticVersion(entry.version), VersionConstraint(dependency.version)?.matches(version) ?? false else {
                stale.append("\(dependency.name) \(entry.version) does not meet \(dependency.version)"); continue
            }
            pinned[dependency.name] = entry.version
        }
        for entry in lock where !declared.contains(where: { $0.name == entry.name }) { stale.append("\(entry.name) is no longer declared") }
        if !stale.isEmpty {
            warn(
                """
                chart \(chart): \(lockName) is out of date with Chart.yaml (\(stale.joined(separator: "; "))): the versions are \
                resolved from Chart.yaml's ranges instead
                """
            )
            return [:]
        }
        return pinned
    }

    /// One dependency's chart archive and its file name under `charts/`; nil for a dependency
    /// without a repository, which must already sit in `charts/`.
    private func resolve(
        _ dependency: DeclaredDependency,
        locked: String?,
        directory: String,
        chart: String,
        depth: Int
    ) async throws -> (String, [UInt8])? {
        let repository = dependency.repository
        let what = "chart \(chart): dependency \(dependency.name) from \(repository.isEmpty ? "no repository" : repository)"
        if repository.hasPrefix("@") || repository.hasPrefix("alias:") {
            throw ChartError.repositoryAlias(what: what)
        }
        if repository.isEmpty {
            guard hasVendored(dependency.name, in: "\(directory)/charts") else {
                throw ChartError.noRepository(what: what)
            }
            return nil
        }
        let written = locked ?? dependency.version
        guard let constraint = VersionConstraint(written) else {
            throw ChartError.badVersion(what: what, version: dependency.version)
        }
        let bytes: [UInt8]
        let version: String
        if repository.hasPrefix("file://") {
            (version, bytes) = try await resolveFolder(
                String(repository.dropFirst("file://".count)),
                base: directory,
                constraint: constraint,
                what: what,
                depth: depth
            )
        } else if repository.hasPrefix("oci://") {
            (version, bytes) = try await resolveOCI(repository, name: dependency.name, constraint: constraint, what: what)
        } else if repository.hasPrefix("https://") || repository.hasPrefix("http://") {
            (version, bytes) = try await resolveRepository(repository, name: dependency.name, constraint: constraint, what: what)
        } else {
            throw ChartError.badRepositoryURL(what: what, allowed: "an https://, oci:// or file:// URL")
        }
        let found = try ChartSource.readMetadata(yaml: try ChartSource.chartYAML(archive: bytes, what: what), file: "\(what): Chart.yaml")
        guard found.name == dependency.name, found.version == version else {
            throw ChartError.wrongChart(what: what, found: "\(found.name) \(found.version)", wanted: "\(dependency.name) \(version)")
        }
        try checkNested(archive: bytes, what: "\(what) \(version)")
        return ("\(dependency.name)-\(version).tgz", bytes)
    }

    private func resolveFolder(
        _ path: String,
        base: String,
        constraint: VersionConstraint,
        what: String,
        depth: Int
    ) async throws -> (String, [UInt8]) {
        let folder = path.hasPrefix("/") ? path : URL(fileURLWithPath: base).appendingPathComponent(path).standardizedFileURL.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ChartError.notAChartFolder(what: what, folder: folder)
        }
        let (metadata, archive) = try await package(directory: folder, what: what, depth: depth + 1)
        guard let version = SemanticVersion(metadata.version), constraint.matches(version) else {
            throw ChartError.folderVersion(what: what, version: metadata.version, constraint: "\(constraint)")
        }
        return (metadata.version, try store.bytes(of: archive.digest))
    }

    private func resolveRepository(
        _ url: String,
        name: String,
        constraint: VersionConstraint,
        what: String
    ) async throws -> (String, [UInt8]) {
        let index = try await remote.chartIndex(url, what: what)
        guard let entries = index.entries[name], !entries.isEmpty else {
            throw ChartError.noChartNamed(what: what, name: name)
        }
        let versions = entries.compactMap { SemanticVersion($0.version) }
        guard let best = constraint.best(of: versions), let entry = entries.first(where: { $0.version == best.original }) else {
            throw ChartError.noVersionMeets(what: what, constraint: "\(constraint)", source: "repository", newest: newest(versions))
        }
        return (entry.version, try await remote.download(entry, index: index, what: "\(what) \(entry.version)"))
    }

    private func resolveOCI(_ url: String, name: String, constraint: VersionConstraint, what: String) async throws -> (String, [UInt8]) {
        let base = String(url.dropFirst("oci://".count)).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        let version: String
        if let exact = SemanticVersion(
            constraint.text.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "="))
        ) {
            version = exact.original
        } else {
            let reference: ImageReference
            do { reference = try ImageReference("\(base)/\(name):latest") } catch {
                throw ChartError.badReference(what: what, detail: "\(error)")
            }
            let tags = try await remote.client(for: reference.registry).listTags(reference.repositoryName)
            let versions = tags.compactMap { SemanticVersion($0.replacingOccurrences(of: "_", with: "+")) }
            guard let best = constraint.best(of: versions) else {
                throw ChartError.noVersionMeets(what: what, constraint: "\(constraint)", source: "registry", newest: newest(versions))
            }
            version = best.original
        }
        let archive = try await remote.fetchOCIChartArchive("oci://\(base)/\(name):\(version)", what: what)
        return (version, archive)
    }

    /// A downloaded dependency must carry its own dependencies, as Helm refuses to install it otherwise.
    private func checkNested(archive: [UInt8], what: String) throws {
        let chart = try LoadedChart.load(archive: archive, name: what)
        for declared in chart.declared where !chart.subcharts.contains(where: { $0.chart.name == declared.name }) {
            throw ChartError.notVendored(what: what, dependency: declared.name)
        }
    }

    private func hasVendored(_ name: String, in folder: String) -> Bool {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.contains { $0 == name || vendoredVersion(file: $0, chart: name) != nil }
    }
}

/// The version in `charts/<chart>-<version>.tgz`, or nil when the file is not that chart's.
func vendoredVersion(file: String, chart: String) -> String? {
    guard file.hasPrefix(chart + "-"), file.hasSuffix(".tgz") else { return nil }
    let version = String(file.dropFirst(chart.count + 1).dropLast(4))
    return isSemVer(version) ? version : nil
}

private func newest(_ versions: [SemanticVersion]) -> String {
    versions.isEmpty ? "no versions" : versions.sorted(by: >).prefix(5).map(\.original).joined(separator: ", ")
}

/// A classic chart repository's `index.yaml`, every scalar read as text.
struct ChartIndex: Sendable {
    struct Entry: Sendable {
        var version: String
        var urls: [String]
        var digest: String?
    }

    let url: String
    let entries: [String: [Entry]]

    var indexURL: String { Self.indexURL(of: url) }

    /// Where a repository keeps its index.
    static func indexURL(of repository: String) -> String {
        repository.hasSuffix("/") ? repository + "index.yaml" : repository + "/index.yaml"
    }

    init(url: String, bytes: [UInt8], what: String) throws {
        self.url = url
        let indexURL = Self.indexURL(of: url)
        // A digest or version of digits only must not become a number.
        guard let document = try? parseDocuments(String(decoding: bytes, as: UTF8.self), file: indexURL).first,
            let index = try? document.plainValue(booleanKeys: ["deprecated", "removed"]) as? [String: Any],
            let entries = index["entries"] as? [String: Any]
        else {
            throw ChartError.notAnIndex(what: what, url: indexURL)
        }
        var parsed: [String: [Entry]] = [:]
        for (name, list) in entries {
            parsed[name] = ((list as? [[String: Any]]) ?? []).compactMap { item in
                guard let version = item["version"] as? String else { return nil }
                return Entry(version: version, urls: (item["urls"] as? [String]) ?? [], digest: item["digest"] as? String)
            }
        }
        self.entries = parsed
    }

    /// Where an entry's archive is: absolute, or relative to the index.
    func archiveURL(_ entry: Entry) -> String? {
        guard let first = entry.urls.first else { return nil }
        if first.contains("://") { return first }
        return URL(string: indexURL)?.deletingLastPathComponent().appendingPathComponent(first).absoluteString
    }
}
