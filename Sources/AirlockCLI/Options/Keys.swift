import AirlockCore
import ArgumentParser
import Foundation
import Signing

/// Reads a private key, with its passphrase from a file or AIRLOCK_KEY_PASSPHRASE.
func loadPrivateKey(_ path: String, passphraseFile: String?) throws -> PrivateKey {
    try PrivateKey(contentsOf: path, passphrase: try readPassphrase(passphraseFile))
}

/// Presents each `--cert` with the signing key it certifies (matched by public key).
func present(certificates paths: [String], to keys: inout [PrivateKey]) throws {
    for path in paths {
        let certificate = try SignerCertificate(contentsOf: path)
        guard let index = keys.firstIndex(where: { $0.publicKey.keyID == certificate.publicKey.keyID }) else {
            throw AirlockFailure(
                message: "--cert \(path) certifies key \(certificate.publicKey.keyID), which is not the key of any --key given",
                status: .usage
            )
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
