/// Media types airlock recognises. Unknown types are carried as opaque strings.
public enum MediaType {
    public static let ociIndex = "application/vnd.oci.image.index.v1+json"
    public static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    public static let ociConfig = "application/vnd.oci.image.config.v1+json"
    public static let ociLayer = "application/vnd.oci.image.layer.v1.tar"
    public static let ociLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
    public static let ociLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd"
    public static let ociEmpty = "application/vnd.oci.empty.v1+json"
    public static let ociLayoutHeader = "application/vnd.oci.layout.header.v1+json"

    public static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    public static let dockerConfig = "application/vnd.docker.container.image.v1+json"
    public static let dockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    public static let dockerSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws"
    public static let dockerSchema1 = "application/vnd.docker.distribution.manifest.v1+json"

    public static let helmConfig = "application/vnd.cncf.helm.config.v1+json"
    public static let helmChart = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
    public static let helmProvenance = "application/vnd.cncf.helm.chart.provenance.v1.prov"

    /// Index-like documents whose `manifests` are children.
    public static let indexes: Set<String> = [ociIndex, dockerManifestList]
    /// Manifest documents whose `config` and `layers` are blobs.
    public static let manifests: Set<String> = [ociManifest, dockerManifest]

    public static func isIndex(_ type: String) -> Bool { indexes.contains(type) }
    public static func isManifest(_ type: String) -> Bool { manifests.contains(type) }
    /// A container image's config (as opposed to an artifact's: a chart, a signature, an SBOM).
    public static func isImageConfig(_ type: String) -> Bool { type == ociConfig || type == dockerConfig }
}
