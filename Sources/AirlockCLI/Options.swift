import AirlockCore
import ArgumentParser
import Foundation
import Signing

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// `--output text|json`, on every command.
struct OutputOptions: ParsableArguments {
    @Option(name: .long, help: "Result format on stdout: text or json.")
    var output: OutputFormat = .text

    /// Prints a result: JSON (sorted keys) or the given text.
    func emit<T: Encodable>(_ value: T, text: () -> String) throws {
        switch output {
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(value), as: UTF8.self))
        case .text:
            print(text(), terminator: "")
        }
    }
}

/// Trusted public keys for reading bundles.
struct TrustOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("A trusted public key (PEM); repeat for several.", valueName: "NAME.pub"))
    var key: [String] = []

    @Option(name: .long, help: ArgumentHelp("Trust a signature whose certificate (pack --cert) chains to this CA (PEM; a root or an intermediate) and is for code signing, valid at --signer-time; repeatable.", valueName: "CA.pem"))
    var signerRoot: [String] = []

    @Option(name: .long, help: ArgumentHelp("When the signer's certificate chain must be valid: now (the default), created (the time the bundle states it was made: for auditing a bundle after its certificate expired), or an RFC 3339 time.", valueName: "now|created|TIME"))
    var signerTime = "now"

    @Flag(name: .long, help: "Accept a bundle that carries no signature (reported loudly).")
    var allowUnsigned = false

    func policy() throws -> SignaturePolicy {
        let keys = try key.map { path in
            if let text = FileManager.default.contents(atPath: path), String(decoding: text, as: UTF8.self).contains("BEGIN CERTIFICATE") {
                throw AirlockFailure(message: "--key \(path) is a certificate, not a public key: trust its CA with --signer-root \(path)", status: .usage)
            }
            return try PublicKey(contentsOf: path)
        }
        let time: CertificateTrust.Time
        switch signerTime {
        case "now": time = .now
        case "created": time = .created
        default:
            guard let seconds = parseRFC3339(signerTime) else {
                throw AirlockFailure(message: "--signer-time takes now, created, or an RFC 3339 time such as 2026-11-01T00:00:00Z", status: .usage)
            }
            time = .fixed(seconds)
        }
        let trust = signerRoot.isEmpty ? nil : CertificateTrust(roots: try CertificateRoots(contentsOf: signerRoot), time: time)
        if allowUnsigned { return .allowUnsigned(keys, certificates: trust) }
        guard !keys.isEmpty || trust != nil else {
            throw AirlockFailure(message: "give the signer's public key with --key NAME.pub, or its CA with --signer-root ROOT.pem (or --allow-unsigned for an unsigned bundle)", status: .usage)
        }
        return .trusted(keys, certificates: trust)
    }
}

/// The image vendor's cosign public keys, on the commands that can require image signatures.
struct CosignOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Require every image to carry a cosign signature that this public key (cosign.pub, PEM) verifies; repeat for several vendors. The signatures travel with referrers: true.", valueName: "COSIGN.pub"))
    var cosignKey: [String] = []

    @Option(name: .long, help: ArgumentHelp("With --cosign-key: every image must also carry a cosign attestation (in-toto statement) of this predicate type, signed by one of those keys; repeatable.", valueName: "TYPE"))
    var requireAttestation: [String] = []

    func keys() throws -> [PublicKey] {
        guard !cosignKey.isEmpty || requireAttestation.isEmpty else {
            throw AirlockFailure(message: "--require-attestation needs the vendor's key: give --cosign-key COSIGN.pub", status: .usage)
        }
        return try cosignKey.map { try PublicKey(contentsOf: $0) }
    }
}

/// Reads a private key, with its passphrase from a file or AIRLOCK_KEY_PASSPHRASE.
func loadPrivateKey(_ path: String, passphraseFile: String?) throws -> PrivateKey {
    try PrivateKey(contentsOf: path, passphrase: try readPassphrase(passphraseFile))
}

/// Presents each `--cert` with the signing key it certifies (matched by public key).
func present(certificates paths: [String], to keys: inout [PrivateKey]) throws {
    for path in paths {
        let certificate = try SignerCertificate(contentsOf: path)
        guard let index = keys.firstIndex(where: { $0.publicKey.keyID == certificate.publicKey.keyID }) else {
            throw AirlockFailure(message: "--cert \(path) certifies key \(certificate.publicKey.keyID), which is not the key of any --key given", status: .usage)
        }
        try keys[index].present(certificate, source: path)
    }
}

func readPassphrase(_ file: String?) throws -> String? {
    if let file {
        guard let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8) else {
            throw AirlockFailure(message: "cannot read passphrase file \(file)", status: .usage)
        }
        return text.trimmingCharacters(in: .newlines)
    }
    if let value = ProcessInfo.processInfo.environment["AIRLOCK_KEY_PASSPHRASE"], !value.isEmpty { return value }
    return nil
}

/// Prints a failed report's cause and exits 1, or returns when it verified.
func requireVerified(_ report: VerificationReport) throws {
    guard report.verified else {
        throw AirlockFailure(message: "verification failed: \(report.failure ?? "unknown reason")", status: .checkFailed)
    }
}

/// A size in bytes as a person writes it: `4G`, `4480MiB`, `4.7GB`, `65536`. As GNU split reads
/// them: K, M, G, T (and KiB, MiB, GiB, TiB) count in 1024s; KB, MB, GB, TB in 1000s.
struct ByteSize: ExpressibleByArgument, Equatable {
    let bytes: Int64

    init?(argument: String) {
        let text = argument.trimmingCharacters(in: .whitespaces)
        let number = text.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        let unit = text.dropFirst(number.count).trimmingCharacters(in: .whitespaces).uppercased()
        let scales: [String: Double] = [
            "": 1, "B": 1,
            "K": 0x1p10, "KIB": 0x1p10, "M": 0x1p20, "MIB": 0x1p20, "G": 0x1p30, "GIB": 0x1p30, "T": 0x1p40, "TIB": 0x1p40,
            "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
        ]
        guard !number.isEmpty, let value = Double(number), let scale = scales[unit] else { return nil }
        let bytes = (value * scale).rounded(.down)
        guard bytes >= 1, bytes < 0x1p62 else { return nil }
        self.bytes = Int64(bytes)
    }

    static var defaultCompletionKind: CompletionKind { .default }
}
