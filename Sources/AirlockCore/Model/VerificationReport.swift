import Foundation
import Signing

/// Which signatures a reader demands.
public enum SignaturePolicy: Sendable {
    /// At least one signature by one of these keys, or presenting a certificate that chains to one
    /// of the trusted roots, for signing code.
    case trusted([PublicKey], certificates: CertificateTrust? = nil)
    /// Like `trusted`, but an unsigned bundle passes (said loudly in the report).
    case allowUnsigned([PublicKey], certificates: CertificateTrust? = nil)
    /// Signatures are not checked at all (used by `sign`, which adds one): digests still are.
    case ignore
}

/// The certificate authorities whose code-signing certificates are trusted (`--signer-root`), and
/// the time their chains must be valid at (`--signer-time`).
public struct CertificateTrust: Sendable {
    public enum Time: Sendable, Equatable {
        /// When the check runs: the usual rule without a timestamp authority.
        case now
        /// The `created` time the signed statement itself states (the signer's word), for an audit
        /// of a bundle made while its certificate was valid.
        case created
        /// A given time, seconds since 1970.
        case fixed(Int64)
    }

    public var roots: CertificateRoots
    public var time: Time

    public init(roots: CertificateRoots, time: Time = .now) {
        self.roots = roots
        self.time = time
    }
}

/// The outcome of reading a bundle: a value, not an error.
/// What a bundle holds, as inspect and verify list it.
public protocol BundleContentsListing {
    var images: [BundlePredicate.Image] { get }
    var charts: [BundlePredicate.Chart] { get }
    var endpoints: [BundlePredicate.Endpoint] { get }
    var egress: [BundlePredicate.EgressDocument]? { get }
    var files: [BundlePredicate.File] { get }
}

public struct VerificationReport: Sendable, Codable, BundleContentsListing {
    public struct SignatureResult: Sendable, Codable, Equatable {
        public var keyID: String
        public var status: SignatureCheck.Status
        /// For a signature checked through its certificate: the subject and issuer.
        public var signer: String?
        public var issuer: String?
        /// Why its certificate was not trusted.
        public var detail: String?
    }

    public var bundle: String
    public var verified: Bool
    /// One line saying what failed, naming the entry.
    public var failure: String?
    /// The bundle carries no signature (and the policy allowed that).
    public var unsigned: Bool
    public var signatures: [SignatureResult]
    public var formatVersion: Int?
    public var name: String?
    public var version: String?
    public var created: String?
    public var toolVersion: String?
    public var entries: Int
    public var bytes: Int64
    /// How many files a split bundle was read from (nil when it is one file).
    public var parts: Int?
    /// A delta bundle: the bundle it builds on, and the layers it leaves out.
    public var base: BundlePredicate.Base?
    public var images: [BundlePredicate.Image]
    public var charts: [BundlePredicate.Chart]
    public var endpoints: [BundlePredicate.Endpoint]
    public var egress: [BundlePredicate.EgressDocument]?
    public var files: [BundlePredicate.File]
    /// With `--cosign-key`: whether each image's cosign signature verified.
    public var imageSignatures: [ImageSignatureCheck]?

    init(bundle: String) {
        self.bundle = bundle
        verified = false
        unsigned = false
        signatures = []
        entries = 0
        bytes = 0
        images = []
        charts = []
        endpoints = []
        files = []
    }

    mutating func adopt(_ predicate: BundlePredicate) {
        formatVersion = predicate.formatVersion
        name = predicate.name
        version = predicate.version
        created = predicate.created
        toolVersion = predicate.tool.version
        images = predicate.images
        charts = predicate.charts
        endpoints = predicate.endpoints
        egress = predicate.egress
        files = predicate.files
        base = predicate.base
    }
}

/// Receives verified entries as they stream (unpack writes them to disk). `commit` is called only
/// after the entry's digest matched; nothing received is used before then.
public protocol EntryReceiver: AnyObject {
    func begin(_ path: EntryPath, size: Int64) throws
    func write(_ chunk: UnsafeRawBufferPointer) throws
    func commit() throws
}

/// A failed check inside the pass; becomes the report's `failure`.
struct CheckFailure: Error {
    let message: String
    /// The bytes could not be read at all (truncation, corrupt frames), as opposed to a check
    /// that read them and found them wrong.
    let isDamage: Bool
    /// The entry whose bytes were found wrong, when one was.
    let entry: String?

    init(_ message: String, isDamage: Bool = false, entry: String? = nil) {
        self.message = message
        self.isDamage = isDamage
        self.entry = entry
    }
}
