import Foundation
import OCI

/// A manifest as a read-only registry serves it: the exact bytes, their media type and digest.
public struct ServedManifest: Sendable {
    public let mediaType: MediaType
    public let digest: Digest
    public let bytes: [UInt8]

    public init(mediaType: MediaType, digest: Digest, bytes: [UInt8]) {
        self.mediaType = mediaType
        self.digest = digest
        self.bytes = bytes
    }
}

/// A manifest that names another as its `subject`, as the OCI 1.1 referrers API lists it.
public struct ServedReferrer: Sendable, Codable, Equatable {
    public let mediaType: MediaType
    public let digest: Digest
    public let size: Int64
    public let artifactType: MediaType?
    public let annotations: [String: String]?

    public init(mediaType: MediaType, digest: Digest, size: Int64, artifactType: MediaType?, annotations: [String: String]?) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.artifactType = artifactType
        self.annotations = annotations
    }
}

/// What a ``RegistryServer`` serves: repositories, their tags, manifests and blobs. The server
/// checks the names a request's path gives before asking; a path whose name, reference or digest
/// is not well formed is answered 404, as for content it does not have.
public protocol ServedContent: Sendable {
    /// Every repository, sorted.
    var repositories: [RepositoryName] { get }
    /// The repository's tags, sorted; nil for a repository this content does not have.
    func tags(of repository: RepositoryName) -> [String]?
    /// A manifest of the repository by tag or by digest.
    func manifest(_ repository: RepositoryName, reference: ManifestReference) -> ServedManifest?
    /// The size of a blob the repository's manifests name; nil for any other digest.
    func blobSize(_ repository: RepositoryName, digest: Digest) -> Int64?
    /// The blob's bytes, checked as they are read (see ``ByteChunkSource``).
    func blob(_ repository: RepositoryName, digest: Digest) throws -> any ByteChunkSource
    /// The repository's manifests whose `subject` is `digest`; nil for an unknown repository.
    func referrers(_ repository: RepositoryName, of digest: Digest) -> [ServedReferrer]?
}

/// Why a ``RegistryServer`` could not start.
public enum RegistryServerError: Error, Sendable, CustomStringConvertible {
    /// The address cannot be bound (in use, not an address of this host, a privileged port).
    case listen(address: String, detail: String)
    /// The certificate or key cannot be read or do not belong together.
    case tlsFiles(certificate: String, key: String, detail: String)
    /// The `--htpasswd` file cannot be used.
    case htpasswd(path: String, detail: String)

    public var description: String {
        switch self {
        case .listen(let address, let detail):
            return "cannot listen on \(address): \(detail); pick another --listen address or port"
        case .tlsFiles(let certificate, let key, let detail):
            return "cannot serve TLS with certificate \(certificate) and key \(key): \(detail)"
        case .htpasswd(let path, let detail):
            return "--htpasswd \(path): \(detail)"
        }
    }
}

/// One answered request: a line of the access log.
public struct ServedRequest: Sendable, Codable {
    /// When the request arrived (RFC 3339, UTC).
    public let time: String
    /// The client's address.
    public let client: String
    /// The authenticated user (`--htpasswd`), if any.
    public let user: String?
    public let method: String
    public let path: String
    public let status: Int
    /// Body bytes sent.
    public let bytes: Int64
    /// From the request's arrival to the answer's last byte.
    public let milliseconds: Int
    /// Why a blob's answer was cut off before its end, when it was: the client sees a broken
    /// transfer, never a complete blob that does not match its digest.
    public let failure: String?
}
