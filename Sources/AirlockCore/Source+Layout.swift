import BundleIO
import Foundation
import OCI

/// Images from an OCI image layout directory.
enum LayoutSource {
    /// Adds the image of `layout` selected by `select` (its ref name) as `name`.
    static func add(layout: String, select: String?, name: ImageReference, written: String, location: String,
                    store: ContentStore, into contents: inout PackContents) throws {
        let what = "\(location): layout \(written)"
        guard let header = FileManager.default.contents(atPath: "\(layout)/oci-layout"),
              let parsed = try? JSONSerialization.jsonObject(with: header) as? [String: Any],
              parsed["imageLayoutVersion"] as? String == "1.0.0" else {
            throw AirlockError.input("\(what) is not an OCI image layout (no oci-layout file with imageLayoutVersion 1.0.0)")
        }
        let index = try readIndex(at: "\(layout)/index.json", what: what)
        let root = try chooseRoot(from: index, select: select, what: what)
        let copier = GraphCopier(store: store, fetch: { descriptor in
            try store.ingest(file: "\(layout)/\(descriptor.digest.layoutPath)", expected: descriptor.digest,
                             expectedSize: descriptor.size, what: "\(what): blob \(descriptor.digest)")
        }, what: what)
        let platforms = try copier.copy(root, into: &contents)
        try contents.tag(root, refName: name.description, kind: "image", location: location)
        contents.images.append(BundlePredicate.Image(
            name: name.description, source: "oci-layout:\(written)" + (select.map { "#\($0)" } ?? ""),
            digest: root.digest.description, mediaType: root.mediaType, size: root.size,
            platforms: platforms.isEmpty ? nil : platforms.map(\.description).sorted()))
    }

    static func readIndex(at path: String, what: String) throws -> ContentDocument {
        guard let bytes = FileManager.default.contents(atPath: path) else {
            throw AirlockError.input("\(what): index.json is missing")
        }
        do { return try ContentDocument(bytes: Array(bytes), declaredType: MediaType.ociIndex) } catch {
            throw AirlockError.input("\(what): index.json: \(error)")
        }
    }

    /// The one descriptor whose ref name is `select`, or the only one when nothing is selected.
    static func chooseRoot(from index: ContentDocument, select: String?, what: String) throws -> Descriptor {
        let names = index.manifests.compactMap(\.refName)
        if let select {
            let matches = index.manifests.filter { $0.refName == select }
            guard matches.count == 1, let match = matches.first else {
                let known = names.isEmpty ? "none" : names.joined(separator: ", ")
                throw AirlockError.input("\(what): no image named \"\(select)\" (names in index.json: \(known))")
            }
            return match
        }
        guard index.manifests.count == 1, let only = index.manifests.first else {
            throw AirlockError.input("\(what) holds \(index.manifests.count) images; choose one with select: (names: \(names.joined(separator: ", ")))")
        }
        return only
    }
}
