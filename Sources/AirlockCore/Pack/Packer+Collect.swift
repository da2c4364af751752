import BundleIO
import Foundation
import Hashing
import OCI
import Registry
import Signing

/// Gathering what airlock.yaml names (images, charts rendered as they will be installed, endpoints,
/// files) into the pack's contents.
extension Packer {
    /// Gathers everything the spec names; returns the image blobs still to pull (charts are
    /// pulled here, as their contents are read before the statement is made).
    func collect(
        _ spec: BundleSpec,
        created: Int64,
        store: ContentStore,
        remote: RegistrySource,
        into contents: inout PackContents
    ) async throws -> [RegistrySource.Fetch] {
        let fetches = try await collectImages(spec.images, store: store, remote: remote, into: &contents)
        try await collectCharts(spec.charts, created: created, remote: remote, into: &contents)
        try collectLocal(spec, store: store, into: &contents)
        return fetches
    }

    /// The images: from registries (returning the blobs still to pull), OCI layouts and
    /// `docker save` archives (read into the store here).
    private func collectImages(
        _ images: [BundleSpec.Image],
        store: ContentStore,
        remote: RegistrySource,
        into contents: inout PackContents
    ) async throws -> [RegistrySource.Fetch] {
        var fetches: [RegistrySource.Fetch] = []
        for image in images {
            progress(.collecting(kind: .image, name: image.name?.description ?? image.written))
            // An image's own platforms:, else --platform.
            let platforms = image.platforms.isEmpty ? options.platforms : image.platforms
            switch image.source {
            case .registry(let reference):
                fetches += try await remote.addImage(
                    reference,
                    name: image.name,
                    platforms: platforms,
                    referrers: image.referrers,
                    written: image.written,
                    location: image.location,
                    into: &contents
                )
            case .layout(let path, let select):
                try LayoutSource.add(
                    layout: path,
                    select: select,
                    name: image.name,
                    platforms: platforms,
                    store: store,
                    written: image.written,
                    location: image.location,
                    into: &contents
                )
            case .archive(let path, let select):
                try DockerArchiveSource.add(
                    archive: path,
                    select: select,
                    name: image.name,
                    platforms: platforms,
                    written: image.written,
                    location: image.location,
                    store: store,
                    into: &contents
                )
            }
        }
        return fetches
    }

    /// The charts: vendored from a folder, or pulled from an OCI registry or a classic repository.
    private func collectCharts(
        _ charts: [BundleSpec.Chart],
        created: Int64,
        remote: RegistrySource,
        into contents: inout PackContents
    ) async throws {
        for chart in charts {
            progress(.collecting(kind: .chart, name: chart.written))
            defer { while contents.chartInstalls.count < contents.charts.count { contents.chartInstalls.append(chart) } }
            switch chart.source {
            case .path(let path):
                let vendor = ChartVendor(
                    remote: remote,
                    created: created,
                    strict: options.strict,
                    warn: { [progress] in progress(.warning($0)) }
                )
                try await vendor.add(path: path, written: chart.written, location: chart.location, into: &contents)
            case .oci(let ref):
                try await remote.fetch(
                    try await remote.addOCIChart(ref, location: chart.location, into: &contents),
                    jobs: options.transport.jobs
                )
            case .repository(let url, let name, let version):
                try await remote.addRepositoryChart(
                    url: url,
                    name: name,
                    version: version,
                    location: chart.location,
                    created: created,
                    into: &contents
                )
            }
        }
    }

    /// Endpoints, egress rules, files, and `--include-airlock`'s binary.
    private func collectLocal(_ spec: BundleSpec, store: ContentStore, into contents: inout PackContents) throws {
        for endpoint in spec.endpoints {
            progress(.collecting(kind: .endpoint, name: endpoint.path))
            try LocalSource.addEndpoint(path: endpoint.path, location: endpoint.location, store: store, into: &contents)
        }
        for egress in spec.egress {
            progress(.collecting(kind: .egress, name: egress.path))
            try LocalSource.addEgress(path: egress.path, location: egress.location, store: store, into: &contents)
        }
        for file in spec.files {
            progress(.collecting(kind: .file, name: file.written))
            try LocalSource.addFile(file, into: &contents)
        }
        if let airlock = options.includeAirlock {
            // The opener for the other side: signed like every entry, under files/airlock/.
            let name = (airlock as NSString).lastPathComponent
            let item = BundleSpec.FileItem(
                path: airlock,
                written: "airlock/\(name)",
                destination: "airlock/\(name)",
                location: "--include-airlock"
            )
            progress(.collecting(kind: .file, name: item.written))
            guard !contents.files.contains(where: { $0.path == BundleFormat.filesPrefix + item.destination }) else {
                throw PackError.airlockAlreadyIncluded(destination: item.destination)
            }
            try LocalSource.addFile(item, into: &contents)
        }
    }

    /// Renders each chart as it will be installed (its `values:`, `set:`, release and Kubernetes
    /// version) and records the images the rendered objects name, those its maintainers declare,
    /// and those its values name that this install does not render; reports images the bundle
    /// lacks, and fails on them under `--strict`.
    func describeCharts(in contents: inout PackContents, store: ContentStore) throws {
        let checker = ChartImageCheck(bundleImages: contents.images, baseDirectory: specDirectory)
        var problems: [String] = []
        for index in contents.charts.indices {
            let chart = contents.charts[index]
            progress(.rendering(chart: chart.name))
            let archive = try store.bytes(of: chart.chartDigest)
            let install =
                index < contents.chartInstalls.count
                ? contents.chartInstalls[index] : BundleSpec.Chart(source: .oci(""), written: "", location: "")
            let described = try checker.describe(archive: archive, chart: chart, install: install)
            contents.charts[index].dependencies = described.dependencies.isEmpty ? nil : described.dependencies
            contents.charts[index].images = described.images
            contents.charts[index].rendered = described.rendered
            if let template = install.installValues {
                contents.charts[index].installValues = try LocalSource.addInstallValues(
                    template,
                    chart: chart,
                    location: install.location,
                    store: store,
                    into: &contents
                )
            }
            for warning in described.warnings { progress(.warning(warning)) }
            for image in described.images where image.isProblem {
                let message = "chart \(image.chart) needs \(image.ref) (\(image.from)): " + ChartImageCheck.explain(image)
                problems.append(message)
                progress(.warning(message))
            }
        }
        if options.strict, !problems.isEmpty {
            throw PackError.strict(count: problems.count, first: problems[0])
        }
    }

    var specDirectory: String {
        URL(fileURLWithPath: options.specPath).deletingLastPathComponent().path
    }
}
