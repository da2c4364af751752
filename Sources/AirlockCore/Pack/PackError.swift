import Foundation
import OCI

/// Why a pack could not be made: each case with its context, worded once. Damaged or unexpected
/// content is a failed check (exit 1, ``isCheckFailure``); the rest are mistakes in what was asked
/// or things airlock does not do (exit 2).
public enum PackError: Error, Sendable, CustomStringConvertible {
    case attestWithoutKey
    case pinnedDigestDiffers(what: String, served: String, pinned: String)
    case tooDeep(what: String)
    case foreignLayer(what: String, digest: String, mediaType: MediaType)
    case notAnImage(what: String, digest: String, mediaType: MediaType)
    case unreadableDocument(what: String, digest: String, detail: String)
    case duplicateName(location: String, refName: String)
    case duplicateEndpoint(location: String, name: String)
    case duplicateEgress(location: String, name: String)
    case unreadableInstallValues(path: String)
    case installValues(location: String, detail: String)
    case airlockAlreadyIncluded(destination: String)
    case strict(count: Int, first: String)
    case noPlatform(what: String, asked: [String], offered: [String])
    case indexUnparseable
    case notEnoughSpace(what: String, needed: Int64, folder: String, free: Int64)
    case sourceDateEpoch(String)
    /// What `--since` was given could not be read (the reason in its own words).
    case since(String)
    case fileChanged(path: String, digest: String)
    case contentDiffers(what: String, expected: String, actual: String)
    case sizeDiffers(what: String, size: Int64, expected: Int64)
    case longerThanDeclared(what: String, size: Int64)
    case damagedDownload(what: String, received: Int64, actual: String, size: Int64, digest: String)
    case downloadEndedEarly(what: String, file: String)
    case cacheLost(root: String, digest: String)
    case cacheDamaged(root: String, digest: String)

    public var isCheckFailure: Bool {
        switch self {
        case .pinnedDigestDiffers, .fileChanged, .contentDiffers, .sizeDiffers, .longerThanDeclared, .damagedDownload: return true
        default: return false
        }
    }

    public var description: String {
        switch self {
        case .attestWithoutKey:
            return "attest: delivery attestations are signed with the bundle's key: give --key (or drop --attest / attest: true)"
        case .pinnedDigestDiffers(let what, let served, let pinned):
            return "\(what): the registry served \(served) for a reference pinned to \(pinned)"
        case .tooDeep(let what): return IndexNesting.refusal(what)
        case .foreignLayer(let what, let digest, let mediaType):
            return "\(what): layer \(digest) is non-distributable (\(mediaType)); airlock does not carry foreign layers"
        case .notAnImage(let what, let digest, let mediaType):
            return "\(what): \(digest) has media type \(mediaType), which is not an image index or manifest"
        case .unreadableDocument(let what, let digest, let detail): return "\(what): \(digest): \(detail)"
        case .duplicateName(let location, let refName):
            return "\(location): \(refName) is already in the bundle; give each image a distinct name"
        case .duplicateEndpoint(let location, let name): return "\(location): a second endpoint is named \(name); names must be unique"
        case .duplicateEgress(let location, let name): return "\(location): a second Egress document is named \(name); names must be unique"
        case .unreadableInstallValues(let path): return "installValues: \(path) cannot be read"
        case .installValues(let location, let detail): return "\(location): installValues: \(detail)"
        case .airlockAlreadyIncluded(let destination):
            return "--include-airlock: files/\(destination) is already in the bundle (airlock.yaml files:)"
        case .strict(let count, let first):
            return """
                --strict: \(count) image(s) the charts need are not in the bundle, first: \(first); add them under images: in \
                airlock.yaml
                """
        case .noPlatform(let what, let asked, let offered):
            return "\(what): no manifest for \(asked.joined(separator: ", ")) (the index offers \(offered.joined(separator: ", ")))"
        case .indexUnparseable: return "index does not parse"
        case .notEnoughSpace(let what, let needed, let folder, let free):
            return """
                \(what) needs \(formatBytes(needed)) in \(folder), which has \(formatBytes(free)) free: free some space or write \
                elsewhere
                """
        case .sourceDateEpoch(let value): return "SOURCE_DATE_EPOCH=\(value) is not a number of seconds since 1970"
        case .since(let why): return "--since: \(why)"
        case .fileChanged(let path, let digest):
            return "\(path) does not match its digest \(digest) (damaged, or changed during the pack): nothing was written"
        case .contentDiffers(let what, let expected, let actual):
            return "\(what): content does not match its digest \(expected) (got \(actual))"
        case .sizeDiffers(let what, let size, let expected): return "\(what): \(size) bytes, but its descriptor says \(expected)"
        case .longerThanDeclared(let what, let size):
            return "\(what): the registry sent more than the \(size) bytes its descriptor declares"
        case .damagedDownload(let what, let received, let actual, let size, let digest):
            return """
                \(what): downloaded \(received) bytes hashing to sha256:\(actual), expected \(size) bytes of \(digest); the registry \
                served damaged content
                """
        case .downloadEndedEarly(let what, let file): return "\(what): the download's file \(file) ended early"
        case .cacheLost(let root, let digest): return "cache \(root) lost blob \(digest); run again to fetch it"
        case .cacheDamaged(let root, let digest): return "cache \(root): blob \(digest) was damaged on disk; it has been removed, run again"
        }
    }
}
