internal import COpenSSL
import Foundation

/// Owns one `X509`; libcrypto does not change a parsed certificate, so sharing it is safe.
final class CertificateHandle: @unchecked Sendable {
    let pointer: OpaquePointer

    init(takingOwnershipOf pointer: OpaquePointer) { self.pointer = pointer }
    deinit { X509_free(pointer) }

    var subject: String { oneLine(X509_get_subject_name(pointer)) }
    var issuer: String { oneLine(X509_get_issuer_name(pointer)) }

    /// Every certificate in a PEM text, in order; fails when there is none or one is damaged.
    static func readAll(_ pem: [UInt8], source: String) throws -> [CertificateHandle] {
        let declared = String(decoding: pem, as: UTF8.self).components(separatedBy: "-----BEGIN CERTIFICATE-----").count - 1
        guard declared > 0 else { throw SigningError.badCertificates("\(source) holds no PEM certificate (BEGIN CERTIFICATE)") }
        let handles: [CertificateHandle] = try withReadBIO(pem) { bio in
            var handles: [CertificateHandle] = []
            while let certificate = PEM_read_bio_X509(bio, nil, nil, nil) {
                handles.append(CertificateHandle(takingOwnershipOf: certificate))
            }
            _ = takeOpenSSLError()  // the loop ends on a "no start line" error
            return handles
        }
        guard handles.count == declared else {
            throw SigningError.badCertificates("\(source): certificate \(handles.count + 1) of \(declared) does not parse")
        }
        return handles
    }

    func pem() throws -> String {
        String(decoding: try collectBIO { bio in try check(PEM_write_bio_X509(bio, pointer), "PEM_write_bio_X509") }, as: UTF8.self)
    }
}

private func oneLine(_ name: OpaquePointer?) -> String {
    guard let name, let raw = X509_NAME_oneline(name, nil, 0) else { return "?" }
    defer { airlock_openssl_free(raw) }
    return String(cString: raw)
}

/// The X.509 certificate a signer presents beside a signature (`pack --cert`): the leaf, whose
/// key makes the signature, then the intermediates up to a root the verifier trusts
/// (`--signer-root`). It travels in the signature itself (`cert`, PEM), so a bundle verifies in
/// one pass, statement first.
public struct SignerCertificate: Sendable {
    /// The chain as PEM, leaf first.
    public let pem: String
    /// The leaf's subject and issuer, one-line form (`/O=Vendor/CN=Release Engineering`).
    public let subject: String
    public let issuer: String
    /// The leaf's key.
    public let publicKey: PublicKey
    let chain: [CertificateHandle]

    public init(pem: [UInt8], source: String = "certificate") throws {
        chain = try CertificateHandle.readAll(pem, source: source)
        let leaf = chain[0]
        guard let key = X509_get_pubkey(leaf.pointer) else {
            throw SigningError.badCertificates("\(source): the first certificate has no public key airlock can read")
        }
        publicKey = try PublicKey(handle: KeyHandle(takingOwnershipOf: key))
        subject = leaf.subject
        issuer = leaf.issuer
        self.pem = try chain.map { try $0.pem() }.joined()
    }

    public init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SigningError.badCertificates("\(path) does not exist or is not readable")
        }
        try self.init(pem: Array(data), source: path)
    }

    /// A chain already parsed (leaf first), for checking only.
    init(chain: [CertificateHandle]) {
        self.chain = chain
        pem = ""
        subject = chain[0].subject
        issuer = chain[0].issuer
        publicKey = (X509_get_pubkey(chain[0].pointer).flatMap { try? PublicKey(handle: KeyHandle(takingOwnershipOf: $0)) })!
    }

    /// Why the chain does not lead to one of `roots` (a root or an intermediate CA, trusted as
    /// given) at `time` (seconds since 1970) for signing code, or nil when it does: every
    /// certificate valid then, the leaf's extended key usage naming codeSigning.
    public func problem(roots: CertificateRoots, at time: Int64) -> String? {
        guard let store = X509_STORE_new() else { return "out of memory" }
        defer { X509_STORE_free(store) }
        for root in roots.certificates { X509_STORE_add_cert(store, root.pointer) }
        // A CA given is trusted as it is, root or intermediate: a site may trust its code-signing
        // CA without trusting everything its corporate root signs.
        X509_STORE_set_flags(store, UInt(X509_V_FLAG_PARTIAL_CHAIN))
        guard let untrusted = airlock_sk_x509_new() else { return "out of memory" }
        defer { airlock_sk_x509_free(untrusted) }
        for intermediate in chain.dropFirst() { _ = airlock_sk_x509_push(untrusted, intermediate.pointer) }
        guard let context = X509_STORE_CTX_new() else { return "out of memory" }
        defer { X509_STORE_CTX_free(context) }
        guard X509_STORE_CTX_init(context, store, chain[0].pointer, untrusted) == 1 else {
            return "cannot set up the check: \(takeOpenSSLError())"
        }
        X509_STORE_CTX_set_time(context, 0, time_t(time))
        if X509_verify_cert(context) != 1 {
            let reason = String(cString: X509_verify_cert_error_string(Int(X509_STORE_CTX_get_error(context))))
            _ = takeOpenSSLError()
            return "\(reason) (checked at \(Self.format(time)))"
        }
        let flags = X509_get_extension_flags(chain[0].pointer)
        guard flags & UInt32(EXFLAG_XKUSAGE) != 0, X509_get_extended_key_usage(chain[0].pointer) & UInt32(XKU_CODE_SIGN) != 0 else {
            return "the certificate is not for signing code (its extendedKeyUsage lacks codeSigning)"
        }
        return nil
    }

    private static func format(_ time: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(time)))
    }
}

/// The certificate authorities whose signers a verifier trusts (`--signer-root`).
public struct CertificateRoots: Sendable {
    let certificates: [CertificateHandle]

    public init(contentsOf paths: [String]) throws {
        certificates = try paths.flatMap { path in
            guard let data = FileManager.default.contents(atPath: path) else {
                throw SigningError.badCertificates("\(path) does not exist or is not readable")
            }
            return try CertificateHandle.readAll(Array(data), source: path)
        }
    }

    init(certificates: [CertificateHandle]) { self.certificates = certificates }

    public var isEmpty: Bool { certificates.isEmpty }
}
