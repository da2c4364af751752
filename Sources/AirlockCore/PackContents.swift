import Foundation
import OCI

/// Everything a pack collects before writing: blobs in the content store, the layout's tagged
/// manifests, and the bundle's non-OCI entries.
struct PackContents {
    /// How a blob is used, which decides where it goes in the entry order.
    enum Role: Int, Comparable {
        case manifest = 2, config = 3, layer = 5

        static func < (lhs: Role, rhs: Role) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    struct Blob {
        var size: Int64
        var role: Role
    }

    /// An entry that is not an OCI blob (endpoint configs, CA files, plain files).
    struct Extra {
        var path: String
        var digest: Digest
        var size: Int64
    }

    var blobs: [Digest: Blob] = [:]
    /// Descriptors for the layout's `index.json`, each with a ref name.
    var tagged: [Descriptor] = []
    var images: [BundlePredicate.Image] = []
    var charts: [BundlePredicate.Chart] = []
    var endpoints: [BundlePredicate.Endpoint] = []
    var files: [BundlePredicate.File] = []
    var extras: [Extra] = []

    /// Records a blob; a blob used in several roles is placed by the earliest.
    mutating func addBlob(_ digest: Digest, size: Int64, role: Role) {
        if let existing = blobs[digest] {
            blobs[digest] = Blob(size: existing.size, role: min(existing.role, role))
        } else {
            blobs[digest] = Blob(size: size, role: role)
        }
    }

    /// Adds a tagged root to the layout, refusing a second one with the same name.
    mutating func tag(_ descriptor: Descriptor, refName: String, kind: String, location: String) throws {
        if tagged.contains(where: { $0.refName == refName }) {
            throw AirlockError.input("\(location): \(refName) is already in the bundle; give each image a distinct name")
        }
        var tagged = Descriptor(mediaType: descriptor.mediaType, digest: descriptor.digest, size: descriptor.size)
        tagged.annotations = [Descriptor.refNameAnnotation: refName, BundleFormat.kindAnnotation: kind]
        tagged.artifactType = descriptor.artifactType
        self.tagged.append(tagged)
    }
}

/// Copies an image graph (index → manifests → config and layers) into the content store,
/// checking every blob against its descriptor.
struct GraphCopier {
    let store: ContentStore
    /// Stores the blob a descriptor names, verified, and returns its bytes' head.
    let fetch: (Descriptor) throws -> ContentStore.Ingested
    let what: String

    /// Copies `root` and everything it references; returns the platforms found under an index.
    @discardableResult
    func copy(_ root: Descriptor, into contents: inout PackContents, depth: Int = 0) throws -> [Platform] {
        guard depth < 8 else { throw AirlockError.input("\(what): indexes nested deeper than 8 levels") }
        _ = try fetch(root)
        let type = root.mediaType
        guard MediaType.isIndex(type) || MediaType.isManifest(type) else {
            throw AirlockError.input("\(what): \(root.digest) has media type \(type), which is not an image index or manifest")
        }
        contents.addBlob(root.digest, size: root.size, role: .manifest)
        let document: ContentDocument
        do { document = try ContentDocument(bytes: try store.bytes(of: root.digest), declaredType: type) } catch let error as OCIError {
            throw AirlockError.input("\(what): \(root.digest): \(error)")
        }
        if MediaType.isIndex(type) {
            var platforms: [Platform] = []
            for child in document.manifests {
                if MediaType.isIndex(child.mediaType) || MediaType.isManifest(child.mediaType) {
                    platforms += try copy(child, into: &contents, depth: depth + 1)
                    if let platform = child.platform { platforms.append(platform) }
                } else {
                    _ = try fetch(child)
                    contents.addBlob(child.digest, size: child.size, role: .layer)
                }
            }
            return platforms
        }
        if let config = document.config {
            _ = try fetch(config)
            contents.addBlob(config.digest, size: config.size, role: .config)
        }
        for layer in document.layers {
            if layer.mediaType.contains("foreign") || layer.mediaType.contains("nondistributable") {
                throw AirlockError.unsupported("\(what): layer \(layer.digest) is non-distributable (\(layer.mediaType)); airlock does not carry foreign layers")
            }
            _ = try fetch(layer)
            contents.addBlob(layer.digest, size: layer.size, role: .layer)
        }
        return []
    }
}
