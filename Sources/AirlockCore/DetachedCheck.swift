import BundleIO
import Foundation
import Signing

/// The gate's check: a bundle file against its detached envelope (`BUNDLE.intoto.json`), without
/// opening the bundle. The envelope's signature is checked as `verify` checks the statement's, then
/// the file's size and sha256 against the envelope's first subject, the bundle file itself. It
/// proves the file is the one that was signed, byte for byte (seek index and framing included);
/// what the entries hold is `verify`'s job.
public struct DetachedCheck: Sendable {
    public struct Report: Sendable, Codable {
        public var bundle: String
        public var envelope: String
        public var verified = false
        /// One line saying what failed.
        public var failure: String?
        public var unsigned = false
        public var signatures: [VerificationReport.SignatureResult] = []
        /// The file name the envelope signs (the file may have been renamed since).
        public var signedName: String?
        public var sha256: String?
        public var size: Int64?
        public var name: String?
        public var version: String?
        public var created: String?
    }

    public let bundle: String
    public let envelope: String
    public let policy: SignaturePolicy

    /// `envelope` defaults to the file beside the bundle, `BUNDLE.intoto.json`.
    public init(bundle: String, envelope: String?, policy: SignaturePolicy) {
        self.bundle = bundle
        self.envelope = envelope ?? bundle + ".intoto.json"
        self.policy = policy
    }

    /// Runs the check. Throws only when a file cannot be read at all; a mismatch is a failed report.
    public func run() throws -> Report {
        guard let bytes = FileManager.default.contents(atPath: envelope) else {
            throw AirlockError.input("no detached envelope \(envelope) (pack writes it beside the bundle; name another with --envelope)")
        }
        let file = try FileDescriptor.openForReading(bundle)
        var report = Report(bundle: bundle, envelope: envelope)
        var verification = VerificationReport(bundle: bundle)
        do {
            let statement = try VerificationPass(path: bundle, policy: policy, receiver: nil).checkStatementBytes(Array(bytes), report: &verification)
            (report.unsigned, report.signatures) = (verification.unsigned, verification.signatures)
            (report.name, report.version, report.created) = (verification.name, verification.version, verification.created)
            guard let subject = statement.subject.first, let sha256 = subject.sha256, let size = subject.annotations?.size else {
                throw CheckFailure("\(envelope) names no bundle file with a sha256 and size")
            }
            report.signedName = subject.name
            let actualSize = try file.size()
            guard actualSize == size else {
                throw CheckFailure("\(bundle) is \(actualSize) bytes, the detached envelope signs \(size): truncated, appended to or replaced")
            }
            let hasher = SHA256Hasher()
            try file.forEachChunk { hasher.update($0) }
            let actual = hasher.finalizeHex()
            guard actual == sha256 else {
                throw CheckFailure("\(bundle) hashes to sha256:\(actual), the detached envelope signs sha256:\(sha256): tampered or corrupted")
            }
            (report.sha256, report.size, report.verified) = (actual, actualSize, true)
        } catch let failure as CheckFailure {
            report.failure = failure.message
        }
        return report
    }
}
