internal import CPKCS11
import Foundation
import Hashing

#if canImport(Glibc)
    import Glibc
#endif

/// A key pair in a PKCS#11 token (an HSM, a smart card, SoftHSM), used through the token's
/// module: loaded with `dlopen`, one logged-in session, signatures made inside the token (the
/// private key never leaves it). The PIN is presented once: a wrong PIN is reported, never
/// retried, so the token's lock-out counter is not burnt by airlock.
///
/// `@unchecked Sendable`: the module's function list and the session are used only under `lock`.
public final class PKCS11Key: @unchecked Sendable {
    private let lock = NSLock()
    private let module: PKCS11Module
    private let session: CK_SESSION_HANDLE
    private let privateKey: CK_OBJECT_HANDLE
    /// The public half, read from the token's public key object.
    public let publicKey: PublicKey
    public let uri: PKCS11URI

    /// Opens the key `uri` names, logging in with `pin`.
    public init(uri: PKCS11URI, modulePath: String, pin: String) throws {
        self.uri = uri
        module = try PKCS11Module.load(uri.modulePath ?? modulePath)
        let slot = try module.slot(token: uri.token)
        session = try module.openSession(slot: slot, readWrite: false)
        try module.login(session: session, slot: slot, pin: pin)
        guard let found = try module.find(session: session, class: PKCS11.classPrivateKey, label: uri.object, id: uri.id) else {
            module.close(session)
            throw SigningError.pkcs11(
                "no private key \(uri.object.map { "labelled \($0)" } ?? "with that id") in token \(uri.token ?? "?")"
            )
        }
        privateKey = found
        do {
            publicKey = try module.publicKey(session: session, label: uri.object, id: uri.id)
            try module.requireMechanism(publicKey.type == .ecdsaP256 ? PKCS11.ecdsa : PKCS11.eddsa, slot: slot)
        } catch {
            module.close(session)
            throw error
        }
    }

    deinit { module.close(session) }

    /// Signs inside the token: ECDSA over the SHA-256 of `message` (DER, as a file key gives it),
    /// or pure Ed25519 over `message`.
    func signature(for message: [UInt8]) throws -> [UInt8] {
        lock.lock()
        defer { lock.unlock() }
        switch publicKey.type {
        case .ecdsaP256:
            let raw = try module.sign(session: session, key: privateKey, mechanism: PKCS11.ecdsa, data: SHA256Hasher.digest(message))
            return try ECDSASignature.der(fromRaw: raw)
        case .ed25519:
            return try module.sign(session: session, key: privateKey, mechanism: PKCS11.eddsa, data: message)
        }
    }

    /// Generates a key pair inside the token (`token=` and `object=` of `uri` name it; `id=` is
    /// the SHA-1-free choice of the caller, else the first 8 bytes of a random value) and returns
    /// its public half.
    public static func generate(_ type: KeyType, uri: PKCS11URI, modulePath: String, pin: String) throws -> PublicKey {
        let module = try PKCS11Module.load(uri.modulePath ?? modulePath)
        let slot = try module.slot(token: uri.token)
        let session = try module.openSession(slot: slot, readWrite: true)
        defer { module.close(session) }
        try module.login(session: session, slot: slot, pin: pin)
        if try module.find(session: session, class: PKCS11.classPrivateKey, label: uri.object, id: uri.id) != nil {
            throw SigningError.pkcs11("token \(uri.token ?? "?") already holds a key named by \(uri); choose another object= or id=")
        }
        try module.requireMechanism(type == .ecdsaP256 ? PKCS11.ecKeyPairGen : PKCS11.edwardsKeyPairGen, slot: slot)
        let id = uri.id ?? (0..<8).map { _ in UInt8.random(in: 0...255) }
        try module.generateKeyPair(session: session, type: type, label: uri.object, id: id)
        return try module.publicKey(session: session, label: uri.object, id: id)
    }
}

/// The Cryptoki constants airlock uses (p11-kit's header defines them as macros Swift cannot read).
enum PKCS11 {
    static let classPublicKey: CK_ULONG = 2
    static let classPrivateKey: CK_ULONG = 3
    static let keyTypeEC: CK_ULONG = 3
    static let keyTypeEdwards: CK_ULONG = 0x40
    static let attributeClass: CK_ULONG = 0x0
    static let attributeToken: CK_ULONG = 0x1
    static let attributePrivate: CK_ULONG = 0x2
    static let attributeLabel: CK_ULONG = 0x3
    static let attributeKeyType: CK_ULONG = 0x100
    static let attributeID: CK_ULONG = 0x102
    static let attributeSensitive: CK_ULONG = 0x103
    static let attributeSign: CK_ULONG = 0x108
    static let attributeVerify: CK_ULONG = 0x10A
    static let attributeExtractable: CK_ULONG = 0x162
    static let attributeECParams: CK_ULONG = 0x180
    static let attributeECPoint: CK_ULONG = 0x181
    static let ecKeyPairGen: CK_ULONG = 0x1040
    static let ecdsa: CK_ULONG = 0x1041
    static let edwardsKeyPairGen: CK_ULONG = 0x1055
    static let eddsa: CK_ULONG = 0x1057
    static let serialSession: CK_ULONG = 1 << 2
    static let readWriteSession: CK_ULONG = 1 << 1
    static let userPINFinalTry: CK_ULONG = 1 << 17
    static let userPINLocked: CK_ULONG = 1 << 18
    static let tokenInitialized: CK_ULONG = 1 << 10
    static let userType: CK_ULONG = 1
    static let ok: CK_ULONG = 0
    static let pinIncorrect: CK_ULONG = 0xA0
    static let pinLocked: CK_ULONG = 0xA4
    static let alreadyLoggedIn: CK_ULONG = 0x100
    static let cryptokiAlreadyInitialized: CK_ULONG = 0x191
    /// DER OIDs: prime256v1 and Ed25519 (RFC 8410).
    static let p256Params: [UInt8] = [0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07]
    static let ed25519Params: [UInt8] = [0x06, 0x03, 0x2B, 0x65, 0x70]
}
