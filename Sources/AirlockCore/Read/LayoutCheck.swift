import Foundation
import OCI

/// After the pass: the OCI layout must be complete. Every descriptor reachable from `index.json`
/// names an entry of the bundle with the right size — or, in a delta bundle, a layer the signed
/// predicate lists as left out (`base.blobs`), with the same size — and the predicate's images and
/// charts are tagged roots of the layout.
struct LayoutCheck {
    let documents: [String: [UInt8]]
    let expected: [String: (sha256: String, size: Int64)]
    /// Digest → size of the blobs a delta bundle leaves out.
    private var leftOut: [Digest: Int64] = [:]

    init(documents: [String: [UInt8]], expected: [String: (sha256: String, size: Int64)]) {
        self.documents = documents
        self.expected = expected
    }

    func run(_ predicate: BundlePredicate) throws {
        var check = self
        check.leftOut = predicate.base?.sizes ?? [:]
        try check.walkAll(predicate)
    }

    private func walkAll(_ predicate: BundlePredicate) throws {
        guard expected["oci/oci-layout"] != nil, let header = documents["oci/oci-layout"],
            let parsed = try? JSONSerialization.jsonObject(with: Data(header)) as? [String: Any],
            parsed["imageLayoutVersion"] as? String == "1.0.0"
        else {
            throw CheckFailure("oci/oci-layout is missing or not imageLayoutVersion 1.0.0")
        }
        guard let indexBytes = documents["oci/index.json"] else { throw CheckFailure("oci/index.json is missing") }
        let index: ContentDocument
        do { index = try ContentDocument(bytes: indexBytes, declaredType: MediaType.ociIndex) } catch {
            throw CheckFailure("oci/index.json: \(error)")
        }
        var checked: Set<Digest> = []
        for root in index.manifests {
            try walk(root, from: root.refName ?? root.digest.description, checked: &checked, depth: 0)
        }
        let roots = Dictionary(
            index.manifests.compactMap { descriptor in descriptor.refName.map { ($0, descriptor.digest) } },
            uniquingKeysWith: { first, _ in first }
        )
        for image in predicate.images where roots[image.name] != image.digest {
            throw CheckFailure("image \(image.name) is in the statement but not tagged with digest \(image.digest) in oci/index.json")
        }
        for chart in predicate.charts where roots[chart.ref] != chart.digest {
            throw CheckFailure("chart \(chart.ref) is in the statement but not tagged with digest \(chart.digest) in oci/index.json")
        }
    }

    private func walk(_ descriptor: Descriptor, from image: String, checked: inout Set<Digest>, depth: Int) throws {
        guard IndexNesting.allows(depth) else { throw CheckFailure(IndexNesting.refusal("image \(image)")) }
        let entry = "oci/" + descriptor.digest.layoutPath
        if expected[entry] == nil, let size = leftOut[descriptor.digest],
            !descriptor.mediaType.isIndex, !descriptor.mediaType.isManifest
        {
            guard size == descriptor.size else {
                throw CheckFailure(
                    "image \(image): \(descriptor.digest) is left out as \(size) bytes, its descriptor says \(descriptor.size)"
                )
            }
            return
        }
        guard let found = expected[entry], found.sha256 == descriptor.digest.encoded else {
            throw CheckFailure("image \(image): \(descriptor.digest) (\(descriptor.mediaType)) is referenced but not in the bundle")
        }
        guard found.size == descriptor.size else {
            throw CheckFailure("image \(image): \(descriptor.digest) is \(found.size) bytes, its descriptor says \(descriptor.size)")
        }
        guard checked.insert(descriptor.digest).inserted else { return }
        guard descriptor.mediaType.isIndexOrManifest else { return }
        guard let bytes = documents[entry] else {
            throw CheckFailure("image \(image): manifest \(descriptor.digest) is too large to check")
        }
        let document: ContentDocument
        do { document = try ContentDocument(bytes: bytes, declaredType: descriptor.mediaType) } catch {
            throw CheckFailure("image \(image): manifest \(descriptor.digest): \(error)")
        }
        for child in document.children {
            try walk(child, from: image, checked: &checked, depth: depth + 1)
        }
    }
}
