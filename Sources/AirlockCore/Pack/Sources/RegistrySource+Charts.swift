import Foundation
import Hashing
import OCI
import Registry
import StrictYAML

/// Charts pulled on the connected side: Helm OCI artifacts from registries, and charts from
/// classic repositories (`index.yaml`, each repository's index fetched once per pack).
extension RegistrySource {
    /// A Helm chart stored as an OCI artifact: `oci://host/path/name:version`.
    func addOCIChart(_ ref: String, location: String, into contents: inout PackContents) async throws -> [Fetch] {
        let what = "\(location): chart \(ref)"
        let chart = try await fetchOCIChartManifest(ref, what: what)
        let (document, chartLayer) = (chart.document, chart.chartLayer)
        let root = try storeDocument(chart.bytes, mediaType: chart.mediaType, what: what, into: &contents)
        let fetches = try await blobs(
            of: chart.bytes,
            mediaType: chart.mediaType,
            host: chart.reference.registry,
            repository: chart.reference.repositoryName,
            what: what,
            into: &contents
        )
        try await fetch(fetches.filter { $0.descriptor.digest == document.config?.digest }, jobs: 1)
        let config = try JSONSerialization.jsonObject(with: Data(try store.bytes(of: document.config!.digest))) as? [String: Any]
        guard let name = config?["name"] as? String, let version = config?["version"] as? String else {
            throw ChartError.noNameAndVersion(what: what)
        }
        let tag = version.replacingOccurrences(of: "+", with: "_")
        var tagged = root
        tagged.artifactType = MediaType.helmConfig
        try contents.tag(tagged, refName: "charts/\(name):\(tag)", kind: .chart, location: location)
        contents.charts.append(
            BundlePredicate.Chart(
                name: name,
                version: version,
                source: ref,
                digest: root.digest,
                chartDigest: chartLayer.digest,
                ref: "charts/\(name):\(tag)"
            )
        )
        return fetches
    }

    /// The manifest of a Helm OCI artifact (`oci://host/path/name:version`), checked to be a chart.
    func fetchOCIChartManifest(_ ref: String, what: String) async throws -> OCIChartManifest {
        let reference: ImageReference
        do { reference = try ImageReference(String(ref.dropFirst("oci://".count)).replacingOccurrences(of: "+", with: "_")) } catch {
            throw ChartError.badReference(what: what, detail: "\(error)")
        }
        let client = try client(for: reference.registry)
        let fetched = try await client.fetchManifest(reference.repositoryName, reference: reference.manifestReference)
        let mediaType = fetched.documentType
        let document = try ContentDocument(bytes: fetched.bytes, declaredType: mediaType)
        guard document.config?.mediaType == MediaType.helmConfig,
            let layer = document.layers.first(where: { $0.mediaType == MediaType.helmChart || $0.mediaType == "application/tar+gzip" })
        else {
            throw ChartError.notAHelmChart(what: what, expected: MediaType.helmConfig)
        }
        return OCIChartManifest(reference: reference, bytes: fetched.bytes, mediaType: mediaType, document: document, chartLayer: layer)
    }

    struct OCIChartManifest {
        let reference: ImageReference
        let bytes: [UInt8]
        let mediaType: MediaType
        let document: ContentDocument
        let chartLayer: Descriptor
    }

    /// A chart from a classic repository (`index.yaml`), its digest checked when the index has one.
    func addRepositoryChart(
        url: String,
        name: String,
        version: String,
        location: String,
        created: Int64,
        into contents: inout PackContents
    ) async throws {
        let what = "\(location): chart \(name) \(version) from \(url)"
        let index = try await chartIndex(url, what: what)
        guard let versions = index.entries[name] else {
            throw ChartError.noChartNamed(what: what, name: name)
        }
        guard let entry = versions.first(where: { $0.version == version }) else {
            throw ChartError.noVersion(what: what, version: version, newest: versions.prefix(5).map(\.version).joined(separator: ", "))
        }
        let stored = try store.ingest(bytes: try await download(entry, index: index, what: what), what: what)
        let metadata = try ChartSource.readMetadata(
            yaml: try ChartSource.chartYAML(inArchive: store.path(of: stored.digest), what: what),
            file: "\(name)-\(version).tgz Chart.yaml"
        )
        try ChartSource.addArtifact(
            metadata: metadata,
            archive: stored,
            source: "\(url) \(name)@\(version)",
            location: location,
            created: created,
            store: store,
            into: &contents
        )
    }

    /// A repository's index, fetched once per pack.
    func chartIndex(_ url: String, what: String) async throws -> ChartIndex {
        if let cached = lock.withLock({ indexes[url] }) { return cached }
        guard let base = URLComponents(string: url), let host = base.host, ["https", "http"].contains(base.scheme ?? "") else {
            throw ChartError.badRepositoryURL(what: what, allowed: "an http(s) URL")
        }
        let fetcher = self.fetcher(host: host, plainHTTP: base.scheme == "http")
        let index = try ChartIndex(url: url, bytes: try await fetcher.get(ChartIndex.indexURL(of: url), limit: 64 << 20), what: what)
        lock.withLock { indexes[url] = index }
        return index
    }

    /// An entry's chart archive, its digest checked when the index gives one.
    func download(_ entry: ChartIndex.Entry, index: ChartIndex, what: String) async throws -> [UInt8] {
        guard let chartURL = index.archiveURL(entry), let host = URLComponents(string: chartURL)?.host else {
            throw ChartError.noURL(what: what)
        }
        let fetcher = self.fetcher(host: host, plainHTTP: chartURL.hasPrefix("http://"))
        let bytes = try await fetcher.get(chartURL, limit: 1 << 30)
        // index.yaml gives the archive's sha256 as hex (some repositories write sha256:hex).
        if let digest = entry.digest, !digest.isEmpty, Digest.sha256(of: bytes) != (try? Digest(sha256Hex: digest)) ?? (try? Digest(digest))
        {
            throw ChartError.digestDiffers(what: what, url: chartURL, digest: digest)
        }
        return bytes
    }

    /// The chart `.tgz` of a Helm OCI artifact, fetched into the store (digest checked) and read back.
    func fetchOCIChartArchive(_ ref: String, what: String) async throws -> [UInt8] {
        let chart = try await fetchOCIChartManifest(ref, what: what)
        try await fetch(
            [Fetch(host: chart.reference.registry, repository: chart.reference.repositoryName, descriptor: chart.chartLayer, what: what)],
            jobs: 1
        )
        return try store.bytes(of: chart.chartLayer.digest)
    }
}
