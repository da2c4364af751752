import Foundation

/// Why a push (or a serve of a bundle) could not start or went wrong on the airlock side, each
/// case with its context, worded once. Refusals of the registry are ``RegistryError``s.
public enum PushError: Error, Sendable, CustomStringConvertible {
    case nothingToPush(source: String)
    case nothingToServe(source: String)
    case noSuchSource(path: String)
    case notADelta(base: String, path: String)
    case notAnUnpackedBundle(folder: String)
    case badTarget
    case badPrefix(String)
    case badRule(match: String, replace: String, source: String, result: String)
    /// A path a manifest references that the signed statement does not list.
    case unlisted(path: String)
    case tooDeep(digest: String)
    case blobAltered(owner: String, digest: String, actual: String)
    /// A blob read at serve's start does not match the statement.
    case blobAlteredBeforeServing(source: String, digest: String, actual: String)
    /// A vendor signature check failed (`failure` names the image), with what that means.
    case signatures(failure: String, consequence: String)

    /// A failed check rather than a mistake in what was asked.
    public var isCheckFailure: Bool {
        switch self {
        case .unlisted, .tooDeep, .blobAltered, .blobAlteredBeforeServing, .signatures: return true
        default: return false
        }
    }

    public var description: String {
        switch self {
        case .nothingToPush(let source): return "\(source) holds no images or charts to push"
        case .nothingToServe(let source): return "\(source) holds no images or charts to serve"
        case .noSuchSource(let path): return "\(path) does not exist"
        case .notADelta(let base, let path): return "--base \(base): \(path) is not a delta bundle (pack --since), it leaves nothing out"
        case .notAnUnpackedBundle(let folder):
            return "\(folder) has no \(BundleFormat.statementPath): not an unpacked airlock bundle"
        case .badTarget:
            return "--registry takes HOST[:PORT][/PREFIX] without a scheme (use --plain-http HOST for a registry without TLS)"
        case .badPrefix(let prefix): return "prefix \"\(prefix)\" is not a valid repository path (lowercase, digits, separators)"
        case .badRule(let match, let replace, let source, let result):
            return "rule \(match) → \(replace) turns \(source) into \"\(result)\", which is not a repository path"
        case .unlisted(let path): return "\(path) is referenced but not in the signed statement"
        case .tooDeep(let digest): return IndexNesting.refusal(digest)
        case .blobAltered(let owner, let digest, let actual):
            return """
                \(owner): blob \(digest) does not match its signed digest (got \(actual)): tampered or corrupted; it was not \
                committed and no manifest was pushed
                """
        case .blobAlteredBeforeServing(let source, let digest, let actual):
            return """
                \(source): blob \(digest) does not match its signed digest (got \(actual)): tampered or corrupted; nothing is \
                served from it (airlock verify \(source) names every damaged entry)
                """
        case .signatures(let failure, let consequence): return "\(failure); \(consequence)"
        }
    }
}
