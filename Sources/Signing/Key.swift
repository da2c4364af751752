internal import COpenSSL
import Foundation
import Hashing

/// The signature schemes airlock uses.
public enum KeyType: String, Sendable, CaseIterable, Codable {
    case ecdsaP256 = "ecdsa-p256"
    case ed25519
}

/// Owns one `EVP_PKEY`. libcrypto treats a key as immutable once created, so sharing it
/// between tasks for signing and verifying is safe; that is why this is `@unchecked Sendable`.
final class KeyHandle: @unchecked Sendable {
    let pointer: OpaquePointer

    init(takingOwnershipOf pointer: OpaquePointer) { self.pointer = pointer }
    deinit { EVP_PKEY_free(pointer) }

    /// The key's scheme, or an error for anything but P-256 and Ed25519.
    func keyType() throws -> KeyType {
        switch EVP_PKEY_get_base_id(pointer) {
        case EVP_PKEY_ED25519:
            return .ed25519
        case EVP_PKEY_EC:
            var name = [CChar](repeating: 0, count: 64)
            var length = 0
            guard EVP_PKEY_get_group_name(pointer, &name, name.count, &length) == 1 else {
                throw SigningError.unsupportedKey("EC key without a named curve")
            }
            let curve = String(decoding: name.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard curve == "prime256v1" || curve == "P-256" else {
                throw SigningError.unsupportedKey("EC curve \(curve)")
            }
            return .ecdsaP256
        default:
            throw SigningError.unsupportedKey("key algorithm id \(EVP_PKEY_get_base_id(pointer))")
        }
    }

    /// DER SubjectPublicKeyInfo of the public half.
    func publicKeyDER() throws -> [UInt8] {
        let length = i2d_PUBKEY(pointer, nil)
        guard length > 0 else { throw SigningError.crypto(operation: "i2d_PUBKEY", detail: takeOpenSSLError()) }
        var der = [UInt8](repeating: 0, count: Int(length))
        try der.withUnsafeMutableBufferPointer { buffer in
            var cursor = buffer.baseAddress
            guard i2d_PUBKEY(pointer, &cursor) == length else {
                throw SigningError.crypto(operation: "i2d_PUBKEY", detail: takeOpenSSLError())
            }
        }
        return der
    }
}

/// A public key that verifies signatures, with airlock's key id.
public struct PublicKey: Sendable {
    let handle: KeyHandle
    /// The signature scheme.
    public let type: KeyType
    /// Lowercase hex SHA-256 of the key's DER SubjectPublicKeyInfo
    /// (`openssl pkey -pubin -outform DER | sha256sum`).
    public let keyID: String

    init(handle: KeyHandle) throws {
        self.handle = handle
        self.type = try handle.keyType()
        self.keyID = SHA256Hasher.hex(try handle.publicKeyDER())
    }

    /// Reads a PKIX (`BEGIN PUBLIC KEY`) PEM.
    public init(pem: [UInt8], source: String = "public key") throws {
        let pointer = try withReadBIO(pem) { PEM_read_bio_PUBKEY($0, nil, nil, nil) }
        guard let pointer else {
            throw SigningError.unreadableKey(path: source, reason: "not a PEM public key (\(takeOpenSSLError()))")
        }
        try self.init(handle: KeyHandle(takingOwnershipOf: pointer))
    }

    /// Reads a DER SubjectPublicKeyInfo.
    init(der: [UInt8], source: String) throws {
        let pointer: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            var cursor = buffer.baseAddress
            return d2i_PUBKEY(nil, &cursor, buffer.count)
        }
        guard let pointer else {
            throw SigningError.unreadableKey(path: source, reason: "not a DER public key (\(takeOpenSSLError()))")
        }
        try self.init(handle: KeyHandle(takingOwnershipOf: pointer))
    }

    /// Reads a PKIX PEM file.
    public init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SigningError.unreadableKey(path: path, reason: "no such file or not readable")
        }
        try self.init(pem: Array(data), source: path)
    }

    /// The PKIX PEM text of the key.
    public func pem() throws -> [UInt8] {
        try collectBIO { bio in try check(PEM_write_bio_PUBKEY(bio, handle.pointer), "PEM_write_bio_PUBKEY") }
    }

    /// Whether `signature` (DER for ECDSA, raw 64 bytes for Ed25519) signs `message`.
    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        guard let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        let digest = type == .ecdsaP256 ? EVP_sha256() : nil
        guard EVP_DigestVerifyInit(context, nil, digest, nil, handle.pointer) == 1 else {
            _ = takeOpenSSLError()
            return false
        }
        let result = EVP_DigestVerify(context, signature, signature.count, message, message.count)
        _ = takeOpenSSLError()
        return result == 1
    }
}

/// A private key that signs: held in memory (read from a PEM file or generated), in a PKCS#11
/// token, or behind a signer command. Whichever holds it, the signature and the key id are what
/// the same key pair gives as a file.
public struct PrivateKey: Sendable {
    enum Holder: Sendable {
        case memory(KeyHandle)
        case token(PKCS11Key)
        case command(CommandSigner)
    }

    let holder: Holder
    /// The public half.
    public let publicKey: PublicKey
    /// The X.509 certificate (and chain) presented with every signature made by this key.
    public private(set) var certificate: SignerCertificate?

    /// Presents `certificate` with this key's signatures; its leaf must certify this very key.
    public mutating func present(_ certificate: SignerCertificate, source: String) throws {
        guard certificate.publicKey.keyID == publicKey.keyID else {
            throw SigningError.badCertificates(
                "\(source) certifies key \(certificate.publicKey.keyID), not this signing key \(publicKey.keyID)"
            )
        }
        self.certificate = certificate
    }

    init(handle: KeyHandle) throws {
        self.holder = .memory(handle)
        self.publicKey = try PublicKey(handle: handle)
    }

    /// A key in a PKCS#11 token.
    public init(token key: PKCS11Key) {
        holder = .token(key)
        publicKey = key.publicKey
    }

    /// A key behind a signer command.
    public init(command signer: CommandSigner) {
        holder = .command(signer)
        publicKey = signer.publicKey
    }

    /// Whether the key is held in this process (a file or a generated key).
    public var isInMemory: Bool {
        if case .memory = holder { return true }
        return false
    }

    /// Generates a new key.
    public static func generate(_ type: KeyType) throws -> PrivateKey {
        let algorithm = type == .ecdsaP256 ? "EC" : "ED25519"
        guard let context = EVP_PKEY_CTX_new_from_name(nil, algorithm, nil) else {
            throw SigningError.crypto(operation: "EVP_PKEY_CTX_new_from_name", detail: takeOpenSSLError())
        }
        defer { EVP_PKEY_CTX_free(context) }
        try check(EVP_PKEY_keygen_init(context), "EVP_PKEY_keygen_init")
        if type == .ecdsaP256 {
            try check(EVP_PKEY_CTX_set_group_name(context, "P-256"), "EVP_PKEY_CTX_set_group_name")
        }
        var pointer: OpaquePointer?
        try check(EVP_PKEY_generate(context, &pointer), "EVP_PKEY_generate")
        guard let pointer else { throw SigningError.crypto(operation: "EVP_PKEY_generate", detail: "no key") }
        return try PrivateKey(handle: KeyHandle(takingOwnershipOf: pointer))
    }

    /// Reads a PKCS#8 (or traditional) PEM private key, decrypting it with `passphrase` when needed.
    public init(pem: [UInt8], passphrase: String?, source: String = "private key") throws {
        let pointer: OpaquePointer? = try withReadBIO(pem) { bio in
            // With no callback, libcrypto takes `u` as the passphrase. An empty passphrase
            // makes an encrypted key fail instead of prompting on the terminal.
            var secret = Array((passphrase ?? "").utf8CString)
            defer { for index in secret.indices { secret[index] = 0 } }
            return secret.withUnsafeMutableBytes { PEM_read_bio_PrivateKey(bio, nil, nil, $0.baseAddress) }
        }
        guard let pointer else {
            let detail = takeOpenSSLError()
            let text = String(decoding: pem, as: UTF8.self)
            if text.contains("ENCRYPTED PRIVATE KEY") {
                if passphrase == nil { throw SigningError.passphraseRequired(path: source) }
                throw SigningError.unreadableKey(path: source, reason: "wrong passphrase")
            }
            throw SigningError.unreadableKey(path: source, reason: "not a PEM private key (\(detail))")
        }
        try self.init(handle: KeyHandle(takingOwnershipOf: pointer))
    }

    /// Reads a private key file.
    public init(contentsOf path: String, passphrase: String?) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SigningError.unreadableKey(path: path, reason: "no such file or not readable")
        }
        try self.init(pem: Array(data), passphrase: passphrase, source: path)
    }

    /// PKCS#8 PEM, encrypted with AES-256-CBC (PBES2) when a passphrase is given.
    public func pkcs8PEM(passphrase: String?) throws -> [UInt8] {
        guard case .memory(let handle) = holder else {
            throw SigningError.unsupportedKey("a key held in a token or behind a command cannot be written out")
        }
        return try collectBIO { bio in
            if let passphrase, !passphrase.isEmpty {
                var secret = Array(passphrase.utf8CString)
                defer { for index in secret.indices { secret[index] = 0 } }
                let result = secret.withUnsafeMutableBufferPointer { buffer in
                    PEM_write_bio_PKCS8PrivateKey(
                        bio,
                        handle.pointer,
                        EVP_aes_256_cbc(),
                        buffer.baseAddress,
                        Int32(buffer.count - 1),
                        nil,
                        nil
                    )
                }
                try check(result, "PEM_write_bio_PKCS8PrivateKey")
            } else {
                try check(PEM_write_bio_PKCS8PrivateKey(bio, handle.pointer, nil, nil, 0, nil, nil), "PEM_write_bio_PKCS8PrivateKey")
            }
        }
    }

    /// Signs `message`: ECDSA P-256 over SHA-256 (DER), or pure Ed25519 (64 bytes).
    public func signature(for message: [UInt8]) throws -> [UInt8] {
        let handle: KeyHandle
        switch holder {
        case .memory(let held): handle = held
        case .token(let key): return try key.signature(for: message)
        case .command(let signer): return try signer.signature(for: message)
        }
        guard let context = EVP_MD_CTX_new() else {
            throw SigningError.crypto(operation: "EVP_MD_CTX_new", detail: takeOpenSSLError())
        }
        defer { EVP_MD_CTX_free(context) }
        let digest = publicKey.type == .ecdsaP256 ? EVP_sha256() : nil
        try check(EVP_DigestSignInit(context, nil, digest, nil, handle.pointer), "EVP_DigestSignInit")
        var length = 0
        try check(EVP_DigestSign(context, nil, &length, message, message.count), "EVP_DigestSign")
        var signature = [UInt8](repeating: 0, count: length)
        try check(EVP_DigestSign(context, &signature, &length, message, message.count), "EVP_DigestSign")
        return Array(signature.prefix(length))
    }
}
