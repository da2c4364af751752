import Foundation

/// Why a bundle (or one of its entries) could not be read, verified for signing, or unpacked:
/// each case with what it concerns, the wording here only. Damage and failed checks exit 1
/// (``isCheckFailure``), the reader's mistakes 2.
public enum ReadError: Error, Sendable, CustomStringConvertible {
    case notABundle(path: String)
    case statementUnparseable(path: String)
    case unsupportedFormat(version: Int)
    case seekIndexWithoutStatement
    /// The statement did not pass the signature policy (the verifier's own words).
    case statement(String)
    /// A bundle (or envelope) that did not verify, named.
    case unverified(path: String, why: String)
    case noSuchEntry(path: String)
    case noFrame(entry: String)
    case entryUnreadable(entry: String, detail: String)
    case entryDiffers(entry: String)
    case refusingToSign(why: String)
    case outputExists(path: String)
    case unsafeChartName(String)
    case noEnvelope(path: String)
    case unreadable(path: String)
    case noSuchBundle(path: String)
    case isInventory(path: String)

    /// Damage or a failed check, rather than a mistake in what was asked.
    public var isCheckFailure: Bool {
        switch self {
        case .notABundle, .statementUnparseable, .unsupportedFormat, .seekIndexWithoutStatement, .statement, .unverified, .noFrame,
            .entryUnreadable, .entryDiffers, .refusingToSign, .unsafeChartName:
            return true
        case .noSuchEntry, .outputExists, .noEnvelope, .unreadable, .noSuchBundle, .isInventory:
            return false
        }
    }

    public var description: String {
        switch self {
        case .notABundle(let path): return "\(path): first entry is not \(BundleFormat.statementPath): not an airlock bundle"
        case .statementUnparseable(let path): return "\(path): the statement does not parse (damaged, or not an airlock bundle)"
        case .unsupportedFormat(let version):
            return "bundle format version \(version) is not supported by this airlock, which reads version \(BundleFormat.version)"
        case .seekIndexWithoutStatement: return "seek index does not start with the statement"
        case .statement(let message): return message
        case .unverified(let path, let why): return "\(path): \(why)"
        case .noSuchEntry(let path): return "\(path) is not an entry of this bundle"
        case .noFrame(let entry): return "seek index has no usable frame for \(entry)"
        case .entryUnreadable(let entry, let detail): return "entry \(entry): \(detail)"
        case .entryDiffers(let entry): return "entry \(entry) does not match its signed sha256 digest: tampered or corrupted"
        case .refusingToSign(let why): return "refusing to sign: \(why)"
        case .outputExists(let path): return "\(path) already exists; unpack into a new folder"
        case .unsafeChartName(let name): return "chart name \(name) is unsafe"
        case .noEnvelope(let path): return "no detached envelope \(path) (pack writes it beside the bundle; name another with --envelope)"
        case .unreadable(let path): return "cannot read \(path)"
        case .noSuchBundle(let path): return "\(path) does not exist (give a bundle, one of its parts, or its .intoto.json envelope)"
        case .isInventory(let path): return "\(path) is a registry inventory (airlock inventory), not a bundle: pack --since takes it"
        }
    }
}
