import Foundation
import OCI

/// Everything a pack collects before writing: blobs in the content store, the layout's tagged
/// manifests, and the bundle's non-OCI entries.
struct PackContents {
    /// How a blob is used, which decides where it goes in the entry order (a blob used in several
    /// roles goes where the earliest puts it).
    enum Role: Comparable {
        case manifest, config, layer

        var group: EntryGroup {
            switch self {
            case .manifest: .manifests
            case .config: .configs
            case .layer: .layers
            }
        }
    }

    /// The groups of the bundle's entry order, first to last (the statement comes before them
    /// all): a reader meets small metadata before big data.
    enum EntryGroup: Comparable {
        /// `oci/index.json` and `oci/oci-layout`.
        case layout
        case manifests
        case configs
        /// Endpoint configs and their CA files, Egress documents, install-values templates, plain files.
        case extras
        case layers
    }

    /// Where a blob's bytes are read from when the bundle is written. Either way they are hashed
    /// again as they are written, and a mismatch aborts the pack.
    enum Source: Equatable, Sendable {
        /// The content store.
        case store
        /// A file that already holds exactly the blob (an OCI layout's blob, a plain file): read in
        /// place, saving a copy through the store.
        case file(String)
    }

    struct Blob {
        var size: Int64
        var role: Role
        var source: Source
    }

    /// An entry that is not an OCI blob (endpoint configs, CA files, plain files).
    struct Extra {
        var path: String
        var digest: Digest
        var size: Int64
        var source: Source = .store
    }

    var blobs: [Digest: Blob] = [:]
    /// Descriptors for the layout's `index.json`, each with a ref name.
    var tagged: [Descriptor] = []
    var images: [BundlePredicate.Image] = []
    var charts: [BundlePredicate.Chart] = []
    /// How each chart of `charts` (same index) will be installed, from its `airlock.yaml` entry.
    var chartInstalls: [BundleSpec.Chart] = []
    var endpoints: [BundlePredicate.Endpoint] = []
    var egress: [BundlePredicate.EgressDocument] = []
    var files: [BundlePredicate.File] = []
    var extras: [Extra] = []

    /// Records a blob; a blob used in several roles is placed by the earliest.
    mutating func addBlob(_ digest: Digest, size: Int64, role: Role, source: Source = .store) {
        if let existing = blobs[digest] {
            blobs[digest] = Blob(size: existing.size, role: min(existing.role, role), source: existing.source)
        } else {
            blobs[digest] = Blob(size: size, role: role, source: source)
        }
    }

    /// Adds a tagged root to the layout, refusing a second one with the same name.
    mutating func tag(_ descriptor: Descriptor, refName: String, kind: LayoutKind, location: String) throws {
        if tagged.contains(where: { $0.refName == refName }) {
            throw PackError.duplicateName(location: location, refName: refName)
        }
        var tagged = Descriptor(mediaType: descriptor.mediaType, digest: descriptor.digest, size: descriptor.size)
        tagged.annotations = [Descriptor.refNameAnnotation: refName, BundleFormat.kindAnnotation: kind.rawValue]
        tagged.artifactType = descriptor.artifactType
        self.tagged.append(tagged)
    }
}

/// Walks an image graph (index → manifests → config and layers), registering every blob for the
/// bundle and checking every document against its descriptor.
struct GraphCopier {
    /// The verified bytes of a manifest or index.
    let document: (Descriptor) throws -> [UInt8]
    /// Registers any blob (documents included) for the bundle, checking that it exists.
    let register: (Descriptor, PackContents.Role, inout PackContents) throws -> Void
    let what: String

    /// Registers `root` and everything it references; returns the platforms found under an index.
    @discardableResult
    func copy(_ root: Descriptor, into contents: inout PackContents, depth: Int = 0) throws -> [Platform] {
        guard IndexNesting.allows(depth) else { throw PackError.tooDeep(what: what) }
        let type = root.mediaType
        guard type.isIndexOrManifest else {
            throw PackError.notAnImage(what: what, digest: root.digest.description, mediaType: type)
        }
        let parsed: ContentDocument
        do { parsed = try ContentDocument(bytes: try document(root), declaredType: type) } catch let error as OCIError {
            throw PackError.unreadableDocument(what: what, digest: root.digest.description, detail: "\(error)")
        }
        try register(root, .manifest, &contents)
        if type.isIndex {
            var platforms: [Platform] = []
            for child in parsed.manifests {
                if child.mediaType.isIndexOrManifest {
                    platforms += try copy(child, into: &contents, depth: depth + 1)
                    if let platform = child.platform { platforms.append(platform) }
                } else {
                    try register(child, .layer, &contents)
                }
            }
            return platforms
        }
        if let config = parsed.config { try register(config, .config, &contents) }
        for layer in parsed.layers {
            if layer.mediaType.isNondistributable {
                throw PackError.foreignLayer(what: what, digest: layer.digest.description, mediaType: layer.mediaType)
            }
            try register(layer, .layer, &contents)
        }
        return []
    }
}
