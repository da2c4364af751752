import Foundation
import OCI

/// Why an image could not be taken from a local OCI image layout or a `docker save` archive,
/// worded once. `what` names the spec entry (`airlock.yaml:12: layout ./build/oci`).
public enum SourceError: Error, Sendable, CustomStringConvertible {
    case notALayout(what: String)
    case notAnArchive(what: String)
    case indexMissing(what: String)
    /// `index.json` or `manifest.json` that does not parse.
    case unreadable(what: String, file: String, detail: String)
    case noFullReference(what: String, image: String)
    /// The image needs a `name:` (`why`: when the archive cannot name it itself).
    case needsName(what: String, why: String?)
    case noSuchName(what: String, name: String, known: [String])
    case noSuchTag(what: String, tag: String, known: [String])
    /// Several images and none chosen (`names`: the layout's ref names; nil for an archive).
    case chooseOne(what: String, count: Int, names: [String]?)
    case blobMissing(what: String, digest: Digest)
    case blobMissingOrDamaged(what: String, digest: Digest)
    case blobSize(what: String, digest: Digest, actual: Int64, declared: Int64)
    case documentTooLarge(what: String, digest: Digest)
    /// The bytes do not hash to their digest: a verification failure.
    case blobDiffers(what: String, digest: Digest)
    /// An archive member its manifest names is not there (`kind`: config or layer).
    case memberMissing(what: String, kind: String, path: String)
    case singlePlatform(what: String)

    public var description: String {
        switch self {
        case .notALayout(let what):
            return "\(what) is not an OCI image layout (no oci-layout file with imageLayoutVersion 1.0.0)"
        case .notAnArchive(let what):
            return "\(what) is not a docker save archive (no manifest.json or index.json)"
        case .indexMissing(let what):
            return "\(what): index.json is missing"
        case .unreadable(let what, "manifest.json", let detail):
            return "\(what): manifest.json does not parse: \(detail)"
        case .unreadable(let what, let file, let detail):
            return "\(what): \(file): \(detail)"
        case .noFullReference(let what, let image):
            return "\(what): image \(image) has no full reference as its ref name; give it a name: (and select:)"
        case .needsName(let what, let why):
            return "\(what): give the image a name:" + (why.map { " (\($0))" } ?? "")
        case .noSuchName(let what, let name, let known):
            return "\(what): no image named \"\(name)\" (names in index.json: \(known.isEmpty ? "none" : known.joined(separator: ", ")))"
        case .noSuchTag(let what, let tag, let known):
            return "\(what): no image tagged \(tag) (tags: \(known.isEmpty ? "none" : known.joined(separator: ", ")))"
        case .chooseOne(let what, let count, let names?):
            return "\(what) holds \(count) images; choose one with select: (names: \(names.joined(separator: ", ")))"
        case .chooseOne(let what, let count, nil):
            return "\(what) holds \(count) images; choose one with select: or name:"
        case .blobMissing(let what, let digest):
            return "\(what): blob \(digest) is missing from the layout"
        case .blobMissingOrDamaged(let what, let digest):
            return "\(what): blob \(digest) is missing or damaged in the archive"
        case .blobSize(let what, let digest, let actual, let declared):
            return "\(what): blob \(digest) is \(actual) bytes, its descriptor says \(declared)"
        case .documentTooLarge(let what, let digest):
            return "\(what): document \(digest) is larger than 4 MiB"
        case .blobDiffers(let what, let digest):
            return "\(what): blob \(digest) does not match its digest"
        case .memberMissing(let what, let kind, let path):
            return "\(what): \(kind) \(path) is missing"
        case .singlePlatform(let what):
            return "\(what): platforms: asks for a subset, but the archive holds a single-platform image (classic docker save)"
        }
    }
}
