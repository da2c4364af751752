/// A content media type (`application/vnd.oci.image.manifest.v1+json`). Any string a document
/// carries is kept as it is — unknown types are copied, not refused — but the types airlock acts on
/// are named constants, and the questions asked of a type (is it an index? an image config?) are
/// asked of this type, not of strings.
public struct MediaType: Sendable, Hashable, Codable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let rawValue: String

    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { rawValue = value }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public var description: String { rawValue }

    /// The type a `Content-Type` header names, without its parameters (`; charset=utf-8`); nil
    /// when the header is missing or empty.
    public init?(contentType: String?) {
        guard let type = contentType?.split(separator: ";", omittingEmptySubsequences: false).first?.trimmingCharacters(in: .whitespaces),
            !type.isEmpty
        else {
            return nil
        }
        rawValue = type
    }

    public static let ociIndex: MediaType = "application/vnd.oci.image.index.v1+json"
    public static let ociManifest: MediaType = "application/vnd.oci.image.manifest.v1+json"
    public static let ociConfig: MediaType = "application/vnd.oci.image.config.v1+json"
    public static let ociLayer: MediaType = "application/vnd.oci.image.layer.v1.tar"
    public static let ociLayerGzip: MediaType = "application/vnd.oci.image.layer.v1.tar+gzip"
    public static let ociLayerZstd: MediaType = "application/vnd.oci.image.layer.v1.tar+zstd"
    public static let ociEmpty: MediaType = "application/vnd.oci.empty.v1+json"
    public static let ociLayoutHeader: MediaType = "application/vnd.oci.layout.header.v1+json"

    public static let dockerManifestList: MediaType = "application/vnd.docker.distribution.manifest.list.v2+json"
    public static let dockerManifest: MediaType = "application/vnd.docker.distribution.manifest.v2+json"
    public static let dockerConfig: MediaType = "application/vnd.docker.container.image.v1+json"
    public static let dockerLayerGzip: MediaType = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    public static let dockerSchema1Signed: MediaType = "application/vnd.docker.distribution.manifest.v1+prettyjws"
    public static let dockerSchema1: MediaType = "application/vnd.docker.distribution.manifest.v1+json"

    public static let helmConfig: MediaType = "application/vnd.cncf.helm.config.v1+json"
    public static let helmChart: MediaType = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
    public static let helmProvenance: MediaType = "application/vnd.cncf.helm.chart.provenance.v1.prov"

    /// A DSSE envelope (in-toto attestations, airlock's import records).
    public static let dsseEnvelope: MediaType = "application/vnd.dsse.envelope.v1+json"
    /// A Sigstore bundle, as cosign 3 attaches signatures and attestations.
    public static let sigstoreBundle: MediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"
    /// The payload of a cosign signature (the `.sig` tag's layers).
    public static let cosignSimpleSigning: MediaType = "application/vnd.dev.cosign.simplesigning.v1+json"

    /// Every manifest type a registry is asked for, most preferred first: the `Accept` list of a
    /// manifest request.
    public static let manifestRequest: [MediaType] = [ociIndex, ociManifest, dockerManifestList, dockerManifest]

    /// Index-like documents whose `manifests` are children.
    public var isIndex: Bool { self == Self.ociIndex || self == Self.dockerManifestList }
    /// Manifest documents whose `config` and `layers` are blobs.
    public var isManifest: Bool { self == Self.ociManifest || self == Self.dockerManifest }
    /// A container image's config (as opposed to an artifact's: a chart, a signature, an SBOM).
    public var isImageConfig: Bool { self == Self.ociConfig || self == Self.dockerConfig }
    /// A document stored as a manifest: an index or a manifest.
    public var isIndexOrManifest: Bool { isIndex || isManifest }
    /// A layer a registry may not redistribute (Docker's foreign layers, OCI's non-distributable ones).
    public var isNondistributable: Bool { rawValue.contains("foreign") || rawValue.contains("nondistributable") }
    /// A Sigstore bundle of any version (v0.1 to v0.3 are in use).
    public var isSigstoreBundle: Bool { rawValue.hasPrefix("application/vnd.dev.sigstore.bundle") }
    /// Docker's schema 1 manifests, signed or not, which airlock refuses.
    public var isDockerSchema1: Bool { self == Self.dockerSchema1 || self == Self.dockerSchema1Signed }
}
