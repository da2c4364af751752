import Foundation

/// A DSSE envelope (`payload`, `payloadType`, `signatures`), as in secure-systems-lab/dsse v1.
public struct DSSEEnvelope: Codable, Sendable, Equatable {
    /// One signature over the pre-authentication encoding of the payload.
    public struct Signature: Codable, Sendable, Equatable {
        /// airlock's key id of the signer (a hint only: never trusted on its own).
        public var keyid: String
        /// Standard base64 of the signature bytes.
        public var sig: String
        /// The signer's X.509 certificate chain (PEM, leaf first), when the key is certified:
        /// airlock's extension, absent otherwise; other DSSE readers ignore it.
        public var cert: String?

        public init(keyid: String, sig: String, cert: String? = nil) {
            self.keyid = keyid
            self.sig = sig
            self.cert = cert
        }
    }

    /// The in-toto payload type.
    public static let inTotoPayloadType = "application/vnd.in-toto+json"

    public var payload: String
    public var payloadType: String
    public var signatures: [Signature]

    /// An unsigned envelope around `payload`.
    public init(payload: [UInt8], payloadType: String = DSSEEnvelope.inTotoPayloadType) {
        self.payload = Data(payload).base64EncodedString()
        self.payloadType = payloadType
        self.signatures = []
    }

    /// The decoded payload bytes (standard or URL-safe base64).
    public func payloadBytes() throws -> [UInt8] {
        guard let bytes = decodeBase64(payload) else { throw SigningError.malformedEnvelope("payload is not base64") }
        return bytes
    }

    /// DSSE's pre-authentication encoding: `DSSEv1 SP len(type) SP type SP len(body) SP body`.
    public static func preAuthenticationEncoding(payloadType: String, payload: [UInt8]) -> [UInt8] {
        let type = Array(payloadType.utf8)
        var out = Array("DSSEv1 \(type.count) ".utf8)
        out += type
        out += Array(" \(payload.count) ".utf8)
        out += payload
        return out
    }

    /// Appends a signature by `key` over this envelope's payload.
    public mutating func sign(with key: PrivateKey) throws {
        let message = Self.preAuthenticationEncoding(payloadType: payloadType, payload: try payloadBytes())
        let signature = try key.signature(for: message)
        signatures.removeAll { $0.keyid == key.publicKey.keyID }
        signatures.append(Signature(keyid: key.publicKey.keyID, sig: Data(signature).base64EncodedString(), cert: key.certificate?.pem))
    }

    /// Checks every signature against the trusted keys, and a signature that presents a certificate
    /// against the trusted roots (its chain valid at `time`, the leaf for signing code). The result
    /// lists, per signature, whether it was verified; the caller decides what suffices.
    public func check(trustedKeys: [PublicKey], roots: CertificateRoots? = nil, at time: Int64 = 0) throws -> SignatureCheck {
        let message = Self.preAuthenticationEncoding(payloadType: payloadType, payload: try payloadBytes())
        var results: [SignatureCheck.Entry] = []
        for signature in signatures {
            guard let bytes = decodeBase64(signature.sig) else {
                results.append(.init(keyID: signature.keyid, status: .malformed))
                continue
            }
            // The keyid is a hint: try the matching key first, then every other trusted key.
            let ordered = trustedKeys.filter { $0.keyID == signature.keyid } + trustedKeys.filter { $0.keyID != signature.keyid }
            if let key = ordered.first(where: { $0.isValidSignature(bytes, for: message) }) {
                results.append(.init(keyID: key.keyID, status: .verified))
            } else if let roots, !roots.isEmpty, let pem = signature.cert {
                results.append(Self.checkCertified(bytes, message: message, pem: pem, keyID: signature.keyid, roots: roots, at: time))
            } else if trustedKeys.contains(where: { $0.keyID == signature.keyid }) {
                results.append(.init(keyID: signature.keyid, status: .invalid))
            } else {
                results.append(.init(keyID: signature.keyid, status: .untrustedKey))
            }
        }
        return SignatureCheck(entries: results)
    }

    private static func checkCertified(
        _ signature: [UInt8],
        message: [UInt8],
        pem: String,
        keyID: String,
        roots: CertificateRoots,
        at time: Int64
    ) -> SignatureCheck.Entry {
        guard let certificate = try? SignerCertificate(pem: Array(pem.utf8)) else {
            return .init(keyID: keyID, status: .untrustedCertificate, detail: "its certificate does not parse")
        }
        let key = certificate.publicKey
        guard key.isValidSignature(signature, for: message) else {
            return .init(keyID: key.keyID, status: .invalid, signer: certificate.subject)
        }
        if let problem = certificate.problem(roots: roots, at: time) {
            return .init(keyID: key.keyID, status: .untrustedCertificate, signer: certificate.subject, detail: problem)
        }
        return .init(keyID: key.keyID, status: .verified, signer: certificate.subject, issuer: certificate.issuer)
    }
}

/// The outcome of checking an envelope's signatures: a value, not an error.
public struct SignatureCheck: Sendable, Equatable {
    public enum Status: String, Sendable, Codable {
        /// Verified by a trusted key.
        case verified
        /// Claims a trusted key's id but does not verify: the content or signature was altered.
        case invalid
        /// Made by a key that is not among the trusted ones.
        case untrustedKey = "untrusted-key"
        /// Not base64.
        case malformed
        /// Presents a certificate that does not lead to a trusted root (or is not for signing code).
        case untrustedCertificate = "untrusted-certificate"
        /// Not checked at all (`airlock sign` reads a bundle without checking its signatures).
        case notChecked = "not-checked"
    }

    public struct Entry: Sendable, Equatable {
        public let keyID: String
        public let status: Status
        /// The certificate's subject, for a signature checked through its certificate.
        public let signer: String?
        public let issuer: String?
        /// Why a certificate was not trusted.
        public let detail: String?

        public init(keyID: String, status: Status, signer: String? = nil, issuer: String? = nil, detail: String? = nil) {
            self.keyID = keyID
            self.status = status
            self.signer = signer
            self.issuer = issuer
            self.detail = detail
        }
    }

    public let entries: [Entry]

    /// Key ids of the trusted keys that verified a signature.
    public var verifiedKeyIDs: [String] { entries.filter { $0.status == .verified }.map(\.keyID) }
    /// Whether at least one trusted key verified a signature.
    public var isTrusted: Bool { !verifiedKeyIDs.isEmpty }
    /// Whether the envelope carries no signature at all.
    public var isUnsigned: Bool { entries.isEmpty }
}

/// Decodes standard or URL-safe base64, with or without padding.
func decodeBase64(_ text: String) -> [UInt8]? {
    var normalized = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    while normalized.count % 4 != 0 { normalized += "=" }
    return Data(base64Encoded: normalized).map(Array.init)
}
