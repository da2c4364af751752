import BundleIO
import Foundation
import Hashing
import OCI

/// Images from an OCI image layout directory.
enum LayoutSource {
    /// Adds images of `layout`: the one whose ref name is `select` (or the only one), carried as
    /// `name` or as its ref name; with neither `select` nor `name`, every image, each by its ref name.
    static func add(
        layout: String,
        select: String?,
        name: ImageReference?,
        platforms: [Platform] = [],
        store: ContentStore,
        written: String,
        location: String,
        into contents: inout PackContents
    ) throws {
        let what = "\(location): layout \(written)"
        guard let header = FileManager.default.contents(atPath: "\(layout)/oci-layout"),
            let parsed = try? JSONSerialization.jsonObject(with: header) as? [String: Any],
            parsed["imageLayoutVersion"] as? String == "1.0.0"
        else {
            throw SourceError.notALayout(what: what)
        }
        let index = try readIndex(at: "\(layout)/index.json", what: what)
        let chosen: [(Descriptor, ImageReference)]
        if select == nil && name == nil && index.manifests.count > 1 {
            chosen = try index.manifests.map { ($0, try fullName(of: $0, what: what)) }
        } else {
            let root = try chooseRoot(from: index, select: select, what: what)
            chosen = [(root, try name ?? fullName(of: root, what: what))]
        }
        for (root, imageName) in chosen {
            try add(
                root: root,
                name: imageName,
                layout: layout,
                source: "oci-layout:\(written)#\(root.refName ?? root.digest.description)",
                platforms: platforms,
                store: store,
                location: location,
                into: &contents
            )
        }
    }

    /// The image's ref name as a full reference, which it must be when no name: is given.
    private static func fullName(of descriptor: Descriptor, what: String) throws -> ImageReference {
        guard let refName = descriptor.refName, refName.contains("/"), let reference = try? ImageReference(refName) else {
            throw SourceError.noFullReference(what: what, image: descriptor.refName ?? descriptor.digest.description)
        }
        return reference
    }

    private static func add(
        root: Descriptor,
        name: ImageReference,
        layout: String,
        source: String,
        platforms wanted: [Platform],
        store: ContentStore,
        location: String,
        into contents: inout PackContents
    ) throws {
        let what = "\(location): layout image \(name)"
        // Blobs are read in place when the bundle is written (and hashed then); only the small
        // documents are read now, to walk the graph.
        let copier = GraphCopier(
            document: { descriptor in
                try readVerified("\(layout)/\(descriptor.digest.layoutPath)", descriptor, what: what)
            },
            register: { descriptor, role, contents in
                let path = "\(layout)/\(descriptor.digest.layoutPath)"
                let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value
                guard let size else { throw SourceError.blobMissing(what: what, digest: descriptor.digest) }
                guard size == descriptor.size else {
                    throw SourceError.blobSize(what: what, digest: descriptor.digest, actual: size, declared: descriptor.size)
                }
                contents.addBlob(descriptor.digest, size: size, role: role, source: .file(path))
            },
            what: what
        )
        let (carried, platforms, sourceDigest) = try copier.copy(root, platforms: wanted, store: store, into: &contents)
        try contents.tag(carried, refName: name.description, kind: .image, location: location)
        contents.images.append(
            BundlePredicate.Image(
                name: name.description,
                source: source,
                digest: carried.digest,
                mediaType: carried.mediaType,
                size: carried.size,
                platforms: platforms.isEmpty ? nil : platforms.map(\.description).sorted(),
                sourceDigest: sourceDigest,
                attestationManifests: PlatformSubset.attestations(of: carried) { descriptor in
                    descriptor.digest == carried.digest && sourceDigest != nil
                        ? try store.bytes(of: carried.digest)
                        : try readVerified("\(layout)/\(descriptor.digest.layoutPath)", descriptor, what: what)
                }
            )
        )
    }

    /// Reads a small document (at most 4 MiB) and checks it against its descriptor.
    static func readVerified(_ path: String, _ descriptor: Descriptor, what: String) throws -> [UInt8] {
        guard descriptor.size <= 4 << 20 else { throw SourceError.documentTooLarge(what: what, digest: descriptor.digest) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SourceError.blobMissing(what: what, digest: descriptor.digest)
        }
        let bytes = Array(data)
        guard bytes.count == descriptor.size, SHA256Hasher.hex(bytes) == descriptor.digest.encoded else {
            throw SourceError.blobDiffers(what: what, digest: descriptor.digest)
        }
        return bytes
    }

    static func readIndex(at path: String, what: String) throws -> ContentDocument {
        guard let bytes = FileManager.default.contents(atPath: path) else {
            throw SourceError.indexMissing(what: what)
        }
        do { return try ContentDocument(bytes: Array(bytes), declaredType: MediaType.ociIndex) } catch {
            throw SourceError.unreadable(what: what, file: "index.json", detail: "\(error)")
        }
    }

    /// The one descriptor whose ref name is `select`, or the only one when nothing is selected.
    static func chooseRoot(from index: ContentDocument, select: String?, what: String) throws -> Descriptor {
        let names = index.manifests.compactMap(\.refName)
        if let select {
            let matches = index.manifests.filter { $0.refName == select }
            guard matches.count == 1, let match = matches.first else {
                throw SourceError.noSuchName(what: what, name: select, known: names)
            }
            return match
        }
        guard index.manifests.count == 1, let only = index.manifests.first else {
            throw SourceError.chooseOne(what: what, count: index.manifests.count, names: names)
        }
        return only
    }
}
