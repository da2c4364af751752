import BundleIO
import Endpoints
import Foundation
import Hashing
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
