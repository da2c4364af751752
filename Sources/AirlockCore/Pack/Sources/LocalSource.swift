import BundleIO
import Endpoints
import Foundation
import Hashing
import HelmTemplate
import OCI

/// ModelEndpoint configs and plain files.
enum LocalSource {
    /// Validates an endpoint file and stores its canonical form (and its CA bundle).
    static func addEndpoint(
        path: String,
        location: String,
        store: ContentStore,
        into contents: inout PackContents
    ) throws {
        let (endpoint, caPEM) = try ModelEndpoint.load(path: path)
        guard !contents.endpoints.contains(where: { $0.name == endpoint.name }) else {
            throw PackError.duplicateEndpoint(location: location, name: endpoint.name)
        }
        let caName = caPEM.map { _ in "\(endpoint.name).ca.pem" }
        let yaml = try store.ingest(bytes: Array(endpoint.canonicalYAML(caFileName: caName).utf8), what: "\(location): endpoint")
        let entryPath = "\(BundleFormat.endpointsPrefix)\(endpoint.name).yaml"
        contents.extras.append(.init(path: entryPath, digest: yaml.digest, size: yaml.size))
        if let caPEM, let caName {
            let ca = try store.ingest(bytes: caPEM, what: "\(location): CA file")
            contents.extras.append(.init(path: BundleFormat.endpointsPrefix + caName, digest: ca.digest, size: ca.size))
        }
        contents.endpoints.append(
            .init(
                name: endpoint.name,
                provider: endpoint.provider.rawValue,
                host: endpoint.host,
                path: entryPath,
                caFile: caName.map { BundleFormat.endpointsPrefix + $0 }
            )
        )
    }

    /// Validates an Egress file and stores its canonical form (and the CA files of its reach entries).
    static func addEgress(path: String, location: String, store: ContentStore, into contents: inout PackContents) throws {
        let egress = try Egress.load(path: path)
        guard !contents.egress.contains(where: { $0.name == egress.name }) else {
            throw PackError.duplicateEgress(location: location, name: egress.name)
        }
        let document = try store.ingest(bytes: Array(egress.canonicalYAML().utf8), what: "\(location): egress")
        let entryPath = "\(BundleFormat.egressPrefix)\(egress.name).yaml"
        contents.extras.append(.init(path: entryPath, digest: document.digest, size: document.size))
        for entry in egress.reach {
            guard let pem = entry.caPEM else { continue }
            let ca = try store.ingest(bytes: pem, what: "\(location): CA file of \(entry.name)")
            contents.extras.append(.init(path: BundleFormat.egressPrefix + egress.caFileName(entry), digest: ca.digest, size: ca.size))
        }
        contents.egress.append(.init(name: egress.name, path: entryPath))
    }

    /// Stores a chart's install-values template (its syntax checked now, so a broken template
    /// fails the pack, not the site) as `install/NAME-VERSION.values.tmpl.yaml`.
    static func addInstallValues(
        _ path: String,
        chart: BundlePredicate.Chart,
        location: String,
        store: ContentStore,
        into contents: inout PackContents
    ) throws -> String {
        guard let bytes = FileManager.default.contents(atPath: path) else { throw PackError.unreadableInstallValues(path: path) }
        do {
            try HelmRenderer.checkSyntax(templateNamed: path, source: String(decoding: bytes, as: UTF8.self))
        } catch {
            throw PackError.installValues(location: location, detail: "\(error)")
        }
        let entryPath = "\(BundleFormat.installPrefix)\(chart.name)-\(chart.version).values.tmpl.yaml"
        guard !contents.extras.contains(where: { $0.path == entryPath }) else {
            throw PackError.installValues(
                location: location,
                detail: "chart \(chart.name) \(chart.version) already has an installValues template"
            )
        }
        let stored = try store.ingest(bytes: Array(bytes), what: "\(location): installValues")
        contents.extras.append(.init(path: entryPath, digest: stored.digest, size: stored.size))
        return entryPath
    }

    static func addFile(_ item: BundleSpec.FileItem, into contents: inout PackContents) throws {
        // Hashed now for the statement, read in place (and hashed again) when the bundle is written.
        let input = try FileDescriptor.openForReading(item.path)
        let hasher = SHA256Hasher()
        var size: Int64 = 0
        try input.forEachChunk { chunk in
            hasher.update(chunk)
            size += Int64(chunk.count)
        }
        let digest = try Digest(sha256Hex: hasher.finalizeHex())
        let entryPath = BundleFormat.filesPrefix + item.destination
        contents.extras.append(.init(path: entryPath, digest: digest, size: size, source: .file(item.path)))
        contents.files.append(.init(path: entryPath, source: item.written, size: size))
    }
}
