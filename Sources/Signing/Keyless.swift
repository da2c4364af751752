internal import COpenSSL
import Foundation
import Hashing

/// Whom a keyless (Fulcio certificate) signature must come from: an identity (the certificate's
/// SAN: an email or a URI such as a CI workflow), exact or by regular expression, issued by the
/// OIDC issuer given, under the trusted root the site carried in.
public struct KeylessPolicy: Sendable {
    public var identities: [String]
    /// Matched against the whole SAN.
    public var identityPattern: String?
    public var issuer: String
    public var root: TrustedRoot

    public init(identities: [String], identityPattern: String?, issuer: String, root: TrustedRoot) throws {
        if let identityPattern {
            do { _ = try NSRegularExpression(pattern: identityPattern) } catch {
                throw SigningError.trustedRoot("--cosign-identity-regexp \(identityPattern) is not a regular expression")
            }
        }
        self.identities = identities
        self.identityPattern = identityPattern
        self.issuer = issuer
        self.root = root
    }

    func accepts(_ identity: String) -> Bool {
        if identities.contains(identity) { return true }
        guard let identityPattern, let expression = try? NSRegularExpression(pattern: "^(?:\(identityPattern))$") else { return false }
        return expression.firstMatch(in: identity, range: NSRange(identity.startIndex..., in: identity)) != nil
    }
}

/// What a keyless signature carries besides the signature: the Fulcio certificate (and chain),
/// the Rekor entry that logged it, and RFC 3161 timestamps over the signature.
public struct KeylessMaterial: Sendable {
    public struct LogEntry: Sendable {
        public var logID: [UInt8]
        public var logIndex: Int64
        public var integratedTime: Int64
        /// The entry's canonical body, as the log stored it.
        public var body: [UInt8]
        /// Rekor's signed entry timestamp (its promise to include the entry).
        public var signedEntryTimestamp: [UInt8]?
        public var inclusionProof: InclusionProof?

        public init(logID: [UInt8], logIndex: Int64, integratedTime: Int64, body: [UInt8], signedEntryTimestamp: [UInt8]?) {
            self.logID = logID
            self.logIndex = logIndex
            self.integratedTime = integratedTime
            self.body = body
            self.signedEntryTimestamp = signedEntryTimestamp
        }
    }

    public struct InclusionProof: Sendable {
        public var logIndex: Int64
        public var treeSize: Int64
        public var rootHash: [UInt8]
        public var hashes: [[UInt8]]
        /// The signed checkpoint (a signed note) committing to `rootHash` at `treeSize`.
        public var checkpoint: String

        public init(logIndex: Int64, treeSize: Int64, rootHash: [UInt8], hashes: [[UInt8]], checkpoint: String) {
            self.logIndex = logIndex
            self.treeSize = treeSize
            self.rootHash = rootHash
            self.hashes = hashes
            self.checkpoint = checkpoint
        }
    }

    /// The leaf certificate, DER, then any chain certificates that came with it.
    public var certificates: [[UInt8]]
    public var logEntry: LogEntry?
    /// DER `TimeStampResp`s (or bare tokens) over the signature bytes.
    public var timestamps: [[UInt8]]

    public init(certificates: [[UInt8]], logEntry: LogEntry?, timestamps: [[UInt8]]) {
        self.certificates = certificates
        self.logEntry = logEntry
        self.timestamps = timestamps
    }
}

/// Checks a keyless signature offline, as sigstore-go does: the signing time proved by the log's
/// signed entry timestamp (and its inclusion proof, when carried) or by an RFC 3161 timestamp;
/// the certificate chained to a Fulcio CA of the trusted root at that time; its identity and
/// issuer; and the signature over the message. Each refusal names the condition that failed.
public enum KeylessVerifier {
    public struct Verified: Sendable, Equatable {
        public var identity: String
        public var issuer: String
        public var signedAt: Int64
    }

    public static func verify(
        signature: [UInt8],
        message: [UInt8],
        material: KeylessMaterial,
        policy: KeylessPolicy
    ) -> Result<Verified, KeylessFailure> {
        do {
            guard let leafDER = material.certificates.first else { throw KeylessFailure("no certificate travels with the signature") }
            let leaf = try CertificateHandle(der: leafDER, source: "the signing certificate")
            guard let keyPointer = X509_get_pubkey(leaf.pointer) else { throw KeylessFailure("the certificate has no readable key") }
            let key = try PublicKey(handle: KeyHandle(takingOwnershipOf: keyPointer))
            guard key.isValidSignature(signature, for: message) else {
                throw KeylessFailure("the signature does not verify with the certificate's key")
            }
            let time = try signingTime(signature: signature, material: material, root: policy.root)
            let chain = try material.certificates.dropFirst().map { try CertificateHandle(der: $0, source: "the certificate chain") }
            try checkChain(leaf, extra: chain, root: policy.root, at: time)
            let names = subjectAlternativeNames(leaf)
            guard let identity = names.first(where: policy.accepts) else {
                let wanted = (policy.identities + (policy.identityPattern.map { ["/\($0)/"] } ?? [])).joined(separator: " or ")
                throw KeylessFailure("the certificate is for \(names.joined(separator: ", ")), not \(wanted)")
            }
            guard let issuer = oidcIssuer(leaf) else {
                throw KeylessFailure("the certificate names no OIDC issuer (1.3.6.1.4.1.57264.1.8)")
            }
            guard issuer == policy.issuer else {
                throw KeylessFailure("the certificate was issued for \(issuer), not --cosign-oidc-issuer \(policy.issuer)")
            }
            return .success(Verified(identity: identity, issuer: issuer, signedAt: time))
        } catch let failure as KeylessFailure {
            return .failure(failure)
        } catch {
            return .failure(KeylessFailure("\(error)"))
        }
    }

    /// When the signature was made, as the log or a timestamp authority signed it.
    static func signingTime(signature: [UInt8], material: KeylessMaterial, root: TrustedRoot) throws -> Int64 {
        if let entry = material.logEntry {
            return try TransparencyLog.verify(entry, signature: signature, root: root)
        }
        for timestamp in material.timestamps {
            return try Timestamp.verify(timestamp, over: signature, root: root)
        }
        throw KeylessFailure("no proof of when it was signed (neither a Rekor entry timestamp nor an RFC 3161 timestamp)")
    }

    /// The leaf chains to one of the trusted root's Fulcio CAs valid at `time`, and is for signing code.
    static func checkChain(_ leaf: CertificateHandle, extra: [CertificateHandle], root: TrustedRoot, at time: Int64) throws {
        let notBefore = Int64(airlock_asn1_time_seconds(X509_get0_notBefore(leaf.pointer)))
        let notAfter = Int64(airlock_asn1_time_seconds(X509_get0_notAfter(leaf.pointer)))
        guard (notBefore...notAfter).contains(time) else {
            throw KeylessFailure(
                "it was signed at \(formatTime(time)), outside its certificate's validity "
                    + "(\(formatTime(notBefore)) to \(formatTime(notAfter)))"
            )
        }
        var reasons: [String] = []
        for authority in root.certificateAuthorities where authority.validFor.contains(time) {
            let certificate = SignerCertificate(chain: [leaf] + extra)
            if let problem = certificate.problem(roots: CertificateRoots(certificates: authority.certificates), at: time) {
                reasons.append(problem)
            } else {
                return
            }
        }
        if reasons.isEmpty { throw KeylessFailure("no certificate authority of the trusted root was valid when it was signed") }
        throw KeylessFailure("the certificate does not chain to a Fulcio CA of the trusted root: \(reasons[0])")
    }

    /// The emails and URIs of the certificate's subjectAltName.
    static func subjectAlternativeNames(_ certificate: CertificateHandle) -> [String] {
        guard let value = extensionValue(certificate, oid: "2.5.29.17"), let sequence = DERReader.first(value), sequence.tag == 0x30 else {
            return []
        }
        var names: [String] = []
        var reader = DERReader(sequence.content)
        while let name = reader.next() {
            if name.tag == 0x81 || name.tag == 0x86 { names.append(String(decoding: name.content, as: UTF8.self)) }
        }
        return names
    }

    /// Fulcio's OIDC issuer extension: 1.3.6.1.4.1.57264.1.8 (a DER UTF8String), else the legacy
    /// 1.3.6.1.4.1.57264.1.1 (the raw string).
    static func oidcIssuer(_ certificate: CertificateHandle) -> String? {
        if let value = extensionValue(certificate, oid: "1.3.6.1.4.1.57264.1.8"), let string = DERReader.first(value), string.tag == 0x0C {
            return String(decoding: string.content, as: UTF8.self)
        }
        return extensionValue(certificate, oid: "1.3.6.1.4.1.57264.1.1").map { String(decoding: $0, as: UTF8.self) }
    }

    static func extensionValue(_ certificate: CertificateHandle, oid: String) -> [UInt8]? {
        guard let object = OBJ_txt2obj(oid, 1) else { return nil }
        defer { ASN1_OBJECT_free(object) }
        let index = X509_get_ext_by_OBJ(certificate.pointer, object, -1)
        guard index >= 0, let found = X509_get_ext(certificate.pointer, index), let data = X509_EXTENSION_get_data(found) else {
            return nil
        }
        let length = Int(ASN1_STRING_length(data))
        guard let bytes = ASN1_STRING_get0_data(data) else { return nil }
        return Array(UnsafeBufferPointer(start: bytes, count: length))
    }
}

func formatTime(_ seconds: Int64) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.timeZone = TimeZone(identifier: "UTC")
    return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
}

/// Why a keyless signature was refused, in one line.
public struct KeylessFailure: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Reads DER elements one after another (tag, content); enough for names and strings.
struct DERReader {
    private var bytes: ArraySlice<UInt8>

    init(_ bytes: [UInt8]) { self.bytes = bytes[...] }
    init(_ bytes: ArraySlice<UInt8>) { self.bytes = bytes }

    /// The first element of `bytes`.
    static func first(_ bytes: [UInt8]) -> (tag: UInt8, content: ArraySlice<UInt8>)? {
        var reader = DERReader(bytes)
        return reader.next()
    }

    mutating func next() -> (tag: UInt8, content: ArraySlice<UInt8>)? {
        guard bytes.count >= 2, let tag = bytes.popFirst(), let first = bytes.popFirst() else { return nil }
        var length = Int(first)
        if first & 0x80 != 0 {
            let count = Int(first & 0x7f)
            guard count > 0, count <= 4, bytes.count >= count else { return nil }
            length = bytes.prefix(count).reduce(0) { $0 << 8 | Int($1) }
            bytes = bytes.dropFirst(count)
        }
        guard bytes.count >= length else { return nil }
        let content = bytes.prefix(length)
        bytes = bytes.dropFirst(length)
        return (tag, content)
    }
}
