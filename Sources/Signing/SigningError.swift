/// Failures of key handling, hashing and signing. Verification *outcomes* are not errors:
/// they are reported as ``SignatureCheck`` values.
public enum SigningError: Error, Sendable, Equatable, CustomStringConvertible {
    /// libcrypto refused an operation; `detail` is its own message.
    case crypto(operation: String, detail: String)
    /// A key file could not be read as the expected kind of key.
    case unreadableKey(path: String, reason: String)
    /// The key is of a kind airlock does not sign with.
    case unsupportedKey(String)
    /// The private key is encrypted and no (or a wrong) passphrase was given.
    case passphraseRequired(path: String)
    /// A PEM certificate bundle could not be parsed.
    case badCertificates(String)
    /// A DSSE envelope is not well-formed.
    case malformedEnvelope(String)
    /// A PKCS#11 module, token, PIN or key could not be used; the text says which and what to fix.
    case pkcs11(String)
    /// An `exec:` signer command failed or gave a signature that does not verify.
    case signerCommand(String)
    /// A Sigstore trusted root (or a keyless policy) that cannot be used.
    case trustedRoot(String)

    public var description: String {
        switch self {
        case .crypto(let operation, let detail):
            return "\(operation) failed: \(detail)"
        case .unreadableKey(let path, let reason):
            return "cannot read key \(path): \(reason)"
        case .unsupportedKey(let what):
            return "unsupported key: \(what) (airlock signs with ECDSA P-256 or Ed25519)"
        case .passphraseRequired(let path):
            return "key \(path) is encrypted: give its passphrase with --passphrase-file or AIRLOCK_KEY_PASSPHRASE"
        case .badCertificates(let why):
            return "bad certificate file: \(why)"
        case .malformedEnvelope(let why):
            return "malformed signature envelope: \(why)"
        case .pkcs11(let why):
            return "PKCS#11: \(why)"
        case .signerCommand(let why):
            return "signer command: \(why)"
        case .trustedRoot(let why):
            return "trusted root: \(why)"
        }
    }
}
