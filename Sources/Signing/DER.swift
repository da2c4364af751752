import Foundation

/// The few DER structures that turn what a token or a KMS returns into what OpenSSL and every
/// verifier read: a P-256 signature's `ECDSA-Sig-Value` from its raw `r || s` (PKCS#11 and the
/// JWS-style KMS answers give that), and a `SubjectPublicKeyInfo` from PKCS#11's `CKA_EC_PARAMS`
/// and `CKA_EC_POINT`.
enum DER {
    static func length(_ count: Int) -> [UInt8] {
        if count < 0x80 { return [UInt8(count)] }
        if count < 0x100 { return [0x81, UInt8(count)] }
        return [0x82, UInt8(count >> 8), UInt8(count & 0xff)]
    }

    static func element(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] { [tag] + length(content.count) + content }

    /// A non-negative INTEGER from big-endian bytes.
    static func integer(_ bytes: [UInt8]) -> [UInt8] {
        var trimmed = Array(bytes.drop { $0 == 0 })
        if trimmed.isEmpty { trimmed = [0] }
        if trimmed[0] & 0x80 != 0 { trimmed.insert(0, at: 0) }
        return element(0x02, trimmed)
    }
}

enum ECDSASignature {
    /// `SEQUENCE { INTEGER r, INTEGER s }` from the 64 bytes of a P-256 `r || s`.
    static func der(fromRaw raw: [UInt8]) throws -> [UInt8] {
        guard raw.count == 64 else { throw SigningError.unsupportedKey("an ECDSA P-256 signature of \(raw.count) bytes (expected 64)") }
        return DER.element(0x30, DER.integer(Array(raw[0..<32])) + DER.integer(Array(raw[32..<64])))
    }

    /// Whether `bytes` is a DER `SEQUENCE` spanning all of them (so not a raw `r || s`).
    static func isDER(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= 8, bytes[0] == 0x30 else { return false }
        if bytes[1] < 0x80 { return Int(bytes[1]) + 2 == bytes.count }
        return bytes[1] == 0x81 && bytes.count > 2 && Int(bytes[2]) + 3 == bytes.count
    }
}

enum SubjectPublicKeyInfo {
    static let ecPublicKeyOID: [UInt8] = [0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01]
    static let ed25519OID: [UInt8] = [0x06, 0x03, 0x2B, 0x65, 0x70]
    /// `PrintableString "edwards25519"`, which some tokens give as the curve of an Edwards key.
    static let edwards25519Name: [UInt8] = [0x13, 0x0C] + Array("edwards25519".utf8)

    /// The DER of a P-256 or Ed25519 public key from its PKCS#11 attributes. `CKA_EC_POINT` is a
    /// DER OCTET STRING by the standard; a raw point (as some modules give it) is taken too.
    static func der(ecParams: [UInt8], ecPoint: [UInt8]) throws -> [UInt8] {
        if ecParams == PKCS11.p256Params {
            var point = ecPoint
            if point.count == 67, point[0] == 0x04, point[1] == 0x41 { point = Array(point[2...]) }
            guard point.count == 65, point[0] == 0x04 else {
                throw SigningError.unsupportedKey("a P-256 public point of \(point.count) bytes from the token")
            }
            return DER.element(0x30, DER.element(0x30, ecPublicKeyOID + ecParams) + DER.element(0x03, [0] + point))
        }
        if ecParams == ed25519OID || ecParams == edwards25519Name {
            var point = ecPoint
            if point.count == 34, point[0] == 0x04, point[1] == 0x20 { point = Array(point[2...]) }
            guard point.count == 32 else {
                throw SigningError.unsupportedKey("an Ed25519 public key of \(point.count) bytes from the token")
            }
            return DER.element(0x30, DER.element(0x30, ed25519OID) + DER.element(0x03, [0] + point))
        }
        throw SigningError.unsupportedKey(
            "the token key's curve (EC params \(ecParams.prefix(12).map { String(format: "%02x", $0) }.joined()))"
        )
    }
}
