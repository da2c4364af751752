import BundleIO
import Foundation
import Hashing

/// The gate's check: a bundle file against its detached envelope (`BUNDLE.intoto.json`), without
/// opening the bundle. The envelope's signature is checked as `verify` checks the statement's, then
/// the file's size and sha256 against the envelope's first subject, the bundle file itself. It
/// proves the file is the one that was signed, byte for byte (seek index and framing included);
/// what the entries hold is `verify`'s job.
///
/// A split bundle's envelope also signs each part (`BUNDLE.part001`, …): every part is checked
/// against its own subject, and each that is missing, changed or not signed at all is named; given
/// one part (`BUNDLE.part003`), only that part is checked, so a gate can take one disc at a time.
/// The parts' digests together stand for the whole file's, which is then not hashed again.
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
        /// Each part checked, for a split bundle.
        public var parts: [PartResult]?
        /// The one part checked, when a part was named.
        public var onlyPart: Int?
        public var name: String?
        public var version: String?
        public var created: String?
    }

    /// One part of a split bundle as checked.
    public struct PartResult: Sendable, Codable {
        public var path: String
        public var part: Int
        public var status: Status
        public var size: Int64?
        public var sha256: String?

        public enum Status: String, Sendable, Codable {
            case ok
            case missing
            case sizeDiffers = "size differs"
            case digestDiffers = "digest differs"
            /// A part the envelope does not list.
            case notSigned = "not signed"
        }
    }

    /// The bundle as named (a part's name checks that part alone).
    public let bundle: String
    public let envelope: String
    public let policy: SignaturePolicy
    /// The bundle's name without a part suffix.
    private let base: String
    /// The one part to check, when a part was named.
    private let onlyPart: Int?

    /// `envelope` defaults to the file beside the bundle, `BUNDLE.intoto.json` (for a part, the
    /// envelope of the bundle it belongs to).
    public init(bundle: String, envelope: String?, policy: SignaturePolicy) {
        self.bundle = bundle
        let split = BundleFile.splitPartName(bundle)
        base = split?.base ?? bundle
        onlyPart = split?.number
        self.envelope = envelope ?? base + ".intoto.json"
        self.policy = policy
    }

    /// Runs the check. Throws only when a file cannot be read at all; a mismatch is a failed report.
    public func run() throws -> Report {
        guard let bytes = FileManager.default.contents(atPath: envelope) else {
            throw ReadError.noEnvelope(path: envelope)
        }
        var report = Report(bundle: bundle, envelope: envelope)
        report.onlyPart = onlyPart
        var verification = VerificationReport(bundle: bundle)
        do {
            let statement = try VerificationPass(path: bundle, policy: policy, receiver: nil).checkStatementBytes(
                Array(bytes),
                report: &verification
            )
            (report.unsigned, report.signatures) = (verification.unsigned, verification.signatures)
            (report.name, report.version, report.created) = (verification.name, verification.version, verification.created)
            guard let subject = statement.subject.first, let sha256 = subject.sha256, let size = subject.annotations?.size else {
                throw CheckFailure("\(envelope) names no bundle file with a sha256 and size")
            }
            report.signedName = subject.name
            let parts = statement.subject.filter { $0.annotations?.part != nil }
            if parts.isEmpty {
                guard onlyPart == nil else { throw CheckFailure("\(envelope) signs \(subject.name) as one file, not in parts") }
                try checkWholeFile(sha256: sha256, size: size, report: &report)
            } else {
                try checkParts(parts, report: &report)
                (report.sha256, report.size) = (sha256, size)
            }
            report.verified = true
        } catch let failure as CheckFailure {
            report.failure = failure.message
        }
        return report
    }

    private func checkWholeFile(sha256: String, size: Int64, report: inout Report) throws {
        let file = try FileDescriptor.openForReading(bundle)
        let actualSize = try file.size()
        guard actualSize == size else {
            throw CheckFailure("\(bundle) is \(actualSize) bytes, the detached envelope signs \(size): truncated, appended to or replaced")
        }
        let actual = try sha256Hex(of: file)
        guard actual == sha256 else {
            throw CheckFailure("\(bundle) hashes to sha256:\(actual), the detached envelope signs sha256:\(sha256): tampered or corrupted")
        }
        (report.sha256, report.size) = (actual, actualSize)
    }

    /// Checks the named part, or every part and that no other lies beside them.
    private func checkParts(_ signed: [Statement.Subject], report: inout Report) throws {
        let count = signed.count
        var results: [PartResult] = []
        var problems: [String] = []
        for subject in signed {
            guard let number = subject.annotations?.part, onlyPart == nil || onlyPart == number else { continue }
            let path = base + BundleFile.partSuffix(number)
            let result = try checkPart(path: path, number: number, subject: subject)
            results.append(result)
            switch result.status {
            case .ok: break
            case .notSigned: break
            case .missing: problems.append("\(path) is missing (the envelope signs \(count) parts)")
            case .sizeDiffers:
                problems.append(
                    "\(path) is \(result.size ?? 0) bytes, the envelope signs \(subject.annotations?.size ?? 0): truncated or appended to"
                )
            case .digestDiffers:
                problems.append(
                    """
                    \(path) hashes to sha256:\(result.sha256 ?? "?"), the envelope signs sha256:\(subject.sha256 ?? "?"): tampered or \
                    corrupted
                    """
                )
            }
        }
        if let onlyPart, results.isEmpty {
            problems.append("\(bundle): the envelope signs parts 1 to \(count), not part \(onlyPart)")
        }
        if onlyPart == nil {
            for number in try BundleFile.partNumbers(of: base) where number > count {
                let path = base + BundleFile.partSuffix(number)
                results.append(PartResult(path: path, part: number, status: .notSigned))
                problems.append("\(path) is not one of the \(count) parts the envelope signs: remove it (left by another bundle)")
            }
        }
        report.parts = results
        if !problems.isEmpty { throw CheckFailure(problems.joined(separator: "; ")) }
    }

    private func checkPart(path: String, number: Int, subject: Statement.Subject) throws -> PartResult {
        var result = PartResult(path: path, part: number, status: .missing)
        guard FileManager.default.fileExists(atPath: path) else { return result }
        let file = try FileDescriptor.openForReading(path)
        result.size = try file.size()
        guard result.size == subject.annotations?.size else {
            result.status = .sizeDiffers
            return result
        }
        result.sha256 = try sha256Hex(of: file)
        result.status = result.sha256 == subject.sha256 ? .ok : .digestDiffers
        return result
    }

    private func sha256Hex(of file: FileDescriptor) throws -> String {
        let hasher = SHA256Hasher()
        try file.forEachChunk { hasher.update($0) }
        return hasher.finalizeHex()
    }
}
