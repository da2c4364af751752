import BundleIO
import Foundation
import Hashing
import OCI
import Signing

/// Verifies a bundle in one streaming pass: the seek index's framing, then the statement's
/// signature, then every entry's path, type, size and digest as it streams, then that nothing is
/// missing and that every OCI reference resolves inside the bundle.
public struct Verifier {
    public let path: String
    public let policy: SignaturePolicy

    public init(path: String, policy: SignaturePolicy) {
        self.path = path
        self.policy = policy
    }

    /// Runs the pass. Throws only when the file cannot be opened at all; every problem with its
    /// content is a failed report.
    public func run(receiver: EntryReceiver? = nil) throws -> VerificationReport {
        let file = try BundleFile.open(path)
        var report = VerificationReport(bundle: file.path)
        if file.isSplit { report.parts = file.parts.count }
        let pass = VerificationPass(path: path, policy: policy, receiver: receiver)
        // The framing is read first but reported last: a wrong entry is named before a damaged
        // index, while a file that cannot even be read is explained by its damaged end.
        let index = Result { try SeekIndex.read(from: file) }
        do {
            do { try pass.run(file, report: &report) } catch let error as BundleIOError {
                throw CheckFailure("\(error)", isDamage: true)
            }
            guard case .success(let index) = index else { throw CheckFailure("\(index.describedFailure)") }
            guard index.entries.map(\.path) == pass.seen else {
                throw CheckFailure("seek index does not list the entries the tar holds (the index is damaged)")
            }
            report.verified = true
        } catch let failure as CheckFailure {
            if failure.isDamage, case .failure = index {
                report.failure = index.describedFailure
            } else {
                // A damaged frame follows the last entry read whole: in a split bundle, name its part.
                let bad = failure.entry ?? (failure.isDamage ? (try? index.get())?.entries.dropFirst(pass.seen.count).first?.path : nil)
                report.failure = failure.message + (bad.flatMap { partsHolding($0, in: file, index: index) } ?? "")
            }
        } catch let error as AirlockError {
            report.failure = "\(error)"
        }
        return report
    }
}

/// For a split bundle, which part(s) hold the frame of `entry` (as the seek index says): the
/// part to copy again.
private func partsHolding(_ entry: String, in file: BundleFile, index: Result<SeekIndex, any Error>) -> String? {
    guard file.isSplit, case .success(let index) = index, let frame = index.entries.first(where: { $0.path == entry }) else { return nil }
    let names = file.parts.filter { $0.start < frame.offset + frame.compressedSize && frame.offset < $0.start + $0.size }
        .map { URL(fileURLWithPath: $0.path).lastPathComponent }
    return names.isEmpty ? nil : " (its bytes are in \(names.joined(separator: ", ")))"
}

/// The state of one verification pass.
final class VerificationPass {
    let path: String
    let policy: SignaturePolicy
    let receiver: EntryReceiver?
    /// Entries from the statement: path → (sha256, size).
    var expected: [String: (sha256: String, size: Int64)] = [:]
    /// Entries read so far, in order (compared with the seek index at the end).
    var seen: [String] = []
    private var seenSet: Set<String> = []
    /// Small JSON blobs kept to check OCI references after the pass.
    var documents: [String: [UInt8]] = [:]
    var retained: Int64 = 0
    static let retainLimit: Int64 = 4 << 20
    static let retainTotalLimit: Int64 = 512 << 20

    init(path: String, policy: SignaturePolicy, receiver: EntryReceiver?) {
        self.path = path
        self.policy = policy
        self.receiver = receiver
    }

    func run(_ file: BundleFile, report: inout VerificationReport) throws {
        let reader = try TarReader(file: file, input: .zstdTar)
        defer { reader.close() }
        guard let first = try nextHeader(reader) else { throw CheckFailure("the bundle holds no entries") }
        guard first.path == BundleFormat.statementPath, first.kind == .regular else {
            throw CheckFailure("first entry is \(first.path), not \(BundleFormat.statementPath): not an airlock bundle")
        }
        guard first.size <= BundleFormat.statementLimit else {
            throw CheckFailure("statement is larger than \(BundleFormat.statementLimit) bytes")
        }
        let envelopeBytes: [UInt8]
        do { envelopeBytes = try reader.readAll(limit: BundleFormat.statementLimit) } catch let error as BundleIOError {
            throw CheckFailure("entry \(BundleFormat.statementPath) cannot be read: \(error)")
        }
        let statement = try checkStatementBytes(envelopeBytes, report: &report)
        try receive(EntryPath(BundleFormat.statementPath), bytes: envelopeBytes)
        seen.append(BundleFormat.statementPath)
        seenSet.insert(BundleFormat.statementPath)

        while let header = try nextHeader(reader) {
            try checkEntry(header, reader: reader, report: &report)
        }
        let missing = statement.subject.map(\.name).filter { !seenSet.contains($0) }
        if let first = missing.first {
            throw CheckFailure(
                """
                entry \(first) is in the signed statement but missing from the \
                bundle\(missing.count > 1 ? " (and \(missing.count - 1) more)" : "")
                """
            )
        }
        try LayoutCheck(documents: documents, expected: expected).run(statement.predicate)
    }

    /// Parses the envelope, applies the signature policy, and reads the statement it signs.
    func checkStatementBytes(_ bytes: [UInt8], report: inout VerificationReport) throws -> Statement {
        let envelope: DSSEEnvelope
        do { envelope = try JSONDecoder().decode(DSSEEnvelope.self, from: Data(bytes)) } catch {
            throw CheckFailure("statement: the signature envelope does not parse (damaged or tampered)")
        }
        guard envelope.payloadType == DSSEEnvelope.inTotoPayloadType else {
            throw CheckFailure("statement: payload type \(envelope.payloadType) is not \(DSSEEnvelope.inTotoPayloadType)")
        }
        try applyPolicy(to: envelope, report: &report)
        let statement: Statement
        do {
            statement = try JSONDecoder().decode(Statement.self, from: Data(try envelope.payloadBytes()))
        } catch {
            throw CheckFailure("statement: payload is not an in-toto statement airlock can read")
        }
        guard statement._type == Statement.type else {
            throw CheckFailure("statement: _type \(statement._type) is not in-toto Statement v1")
        }
        guard statement.predicateType == BundleFormat.predicateType, statement.predicate.formatVersion == BundleFormat.version else {
            throw CheckFailure(
                """
                bundle format version \(statement.predicate.formatVersion) (\(statement.predicateType)) is not supported by this \
                airlock, which reads version \(BundleFormat.version); use a newer airlock
                """
            )
        }
        report.adopt(statement.predicate)
        for subject in statement.subject {
            let entry: EntryPath
            do { entry = try EntryPath(subject.name) } catch {
                throw CheckFailure("statement names an unsafe entry \(subject.name): \(error)")
            }
            guard let sha256 = subject.sha256, (try? Digest(sha256Hex: sha256)) != nil else {
                throw CheckFailure("statement: entry \(subject.name) has no sha256 digest")
            }
            guard let size = subject.annotations?.size, size >= 0 else {
                throw CheckFailure("statement: entry \(subject.name) declares no size")
            }
            guard expected[entry.value] == nil, entry.value != BundleFormat.statementPath else {
                throw CheckFailure("statement lists entry \(subject.name) twice")
            }
            expected[entry.value] = (sha256, size)
        }
        return statement
    }

    /// `predicate.created` of the payload, read before it is trusted (only to date certificates).
    private static func createdTime(_ envelope: DSSEEnvelope) -> Int64? {
        struct Dated: Decodable {
            struct Predicate: Decodable { var created: String }
            var predicate: Predicate
        }
        guard let bytes = try? envelope.payloadBytes(), let dated = try? JSONDecoder().decode(Dated.self, from: Data(bytes)) else {
            return nil
        }
        return parseRFC3339(dated.predicate.created)
    }

    private func applyPolicy(to envelope: DSSEEnvelope, report: inout VerificationReport) throws {
        let keys: [PublicKey]
        let certificates: CertificateTrust?
        let allowUnsigned: Bool
        switch policy {
        case .ignore:
            report.signatures = envelope.signatures.map { .init(keyID: $0.keyid, status: .notChecked) }
            report.unsigned = envelope.signatures.isEmpty
            return
        case .trusted(let trusted, let trust): (keys, certificates, allowUnsigned) = (trusted, trust, false)
        case .allowUnsigned(let trusted, let trust): (keys, certificates, allowUnsigned) = (trusted, trust, true)
        }
        let roots = certificates?.roots
        var time = Int64(Date().timeIntervalSince1970)
        switch certificates?.time {
        case .created?:
            guard let created = Self.createdTime(envelope) else {
                throw CheckFailure("statement: no created time to check the signer's certificate at")
            }
            time = created
        case .fixed(let fixed)?: time = fixed
        case .now?, nil: break
        }
        let check = try envelope.check(trustedKeys: keys, roots: roots, at: time)
        report.signatures = check.entries.map {
            .init(keyID: $0.keyID, status: $0.status, signer: $0.signer, issuer: $0.issuer, detail: $0.detail)
        }
        if check.isUnsigned {
            guard allowUnsigned else {
                throw CheckFailure(
                    "bundle is unsigned: nothing proves who made it (sign it with airlock sign, or pass --allow-unsigned to accept that)"
                )
            }
            report.unsigned = true
            return
        }
        if check.isTrusted { return }
        if let invalid = check.entries.first(where: { $0.status == .invalid }) {
            throw CheckFailure("statement: signature by key \(invalid.keyID) does not verify: the statement was altered after signing")
        }
        if let refused = check.entries.first(where: { $0.status == .untrustedCertificate }) {
            throw CheckFailure(
                "statement: signed with the certificate \(refused.signer ?? "?"), which is not trusted: \(refused.detail ?? "?")"
            )
        }
        let ids = check.entries.map(\.keyID).joined(separator: ", ")
        if keys.isEmpty, roots?.isEmpty ?? true {
            throw CheckFailure("no trusted key given: pass the signer's public key with --key (bundle signed by \(ids))")
        }
        if let roots, !roots.isEmpty {
            throw CheckFailure(
                """
                signed only by unknown key(s) \(ids), with no certificate for --signer-root to check; pass the signer's public key \
                with --key
                """
            )
        }
        throw CheckFailure("signed only by unknown key(s) \(ids); pass the signer's public key with --key")
    }

    /// Checks one entry's header before reading it, then its digest while streaming.
    private func checkEntry(_ header: TarEntryHeader, reader: TarReader, report: inout VerificationReport) throws {
        let name = header.path
        guard header.kind == .regular else { throw CheckFailure("entry \(name) is a \(header.kind); bundles hold regular files only") }
        let entry: EntryPath
        do { entry = try EntryPath(name) } catch { throw CheckFailure("entry \(name) has an unsafe path: \(error)") }
        guard let (sha256, size) = expected[entry.value] else {
            throw CheckFailure("entry \(name) is not in the signed statement")
        }
        guard !seenSet.contains(entry.value) else { throw CheckFailure("entry \(name) appears twice") }
        guard header.size == size else {
            throw CheckFailure("entry \(name) is \(header.size) bytes in the tar but \(size) in the signed statement")
        }
        let hasher = SHA256Hasher()
        let keep = entry.value.hasPrefix("oci/") && size <= Self.retainLimit && retained + size <= Self.retainTotalLimit
        var kept: [UInt8] = []
        try receiver?.begin(entry, size: size)
        let read: Int64
        do {
            read = try reader.readData { chunk in
                hasher.update(chunk)
                if keep { kept.append(contentsOf: chunk) }
                try receiver?.write(chunk)
            }
        } catch let error as BundleIOError {
            throw CheckFailure("entry \(name) cannot be read (corrupted or truncated): \(error)", isDamage: true, entry: name)
        }
        guard read == size else { throw CheckFailure("entry \(name) holds \(read) bytes, \(size) declared (truncated)") }
        guard hasher.finalizeHex() == sha256 else {
            throw CheckFailure("entry \(name) does not match its signed sha256 digest: tampered or corrupted", entry: name)
        }
        try receiver?.commit()
        if keep, kept.first == UInt8(ascii: "{") {
            documents[entry.value] = kept
            retained += size
        }
        seen.append(entry.value)
        seenSet.insert(entry.value)
        report.entries += 1
        report.bytes += size
    }

    /// The next tar header; a failure names the last good entry, since the damage follows it.
    private func nextHeader(_ reader: TarReader) throws -> TarEntryHeader? {
        do { return try reader.next() } catch let error as BundleIOError {
            let place = seen.last.map { "after entry \($0)" } ?? "at the start"
            throw CheckFailure("bundle is damaged \(place) (corrupted or truncated): \(error)", isDamage: true)
        }
    }

    private func receive(_ path: EntryPath, bytes: [UInt8]) throws {
        guard let receiver else { return }
        try receiver.begin(path, size: Int64(bytes.count))
        try bytes.withUnsafeBytes { try receiver.write($0) }
        try receiver.commit()
    }
}

extension Result where Success == SeekIndex {
    var describedFailure: String {
        if case .failure(let error) = self { return "\(error)" }
        return ""
    }
}
