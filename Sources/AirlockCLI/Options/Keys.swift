import AirlockCore
import ArgumentParser
import Foundation
import Signing

/// Where the private keys of `--key` are held, and what unlocks them: a PEM file (with
/// `--passphrase-file`), a PKCS#11 token (`pkcs11:` URI, `--pkcs11-module`, `--pin-file`), or a
/// signer command (`exec:COMMAND` with `--signer-pub`). Secrets come from files or the
/// environment, never from argv.
struct KeyHolderOptions: ParsableArguments {
    @Option(name: .long, help: "Passphrase file for encrypted keys (or set AIRLOCK_KEY_PASSPHRASE).")
    var passphraseFile: String?

    @Option(
        name: .long,
        help: ArgumentHelp("The PKCS#11 module for pkcs11: keys (or set AIRLOCK_PKCS11_MODULE).", valueName: "MODULE.so")
    )
    var pkcs11Module: String?

    @Option(name: .long, help: ArgumentHelp("A file holding the token's user PIN (or set AIRLOCK_PKCS11_PIN).", valueName: "FILE"))
    var pinFile: String?

    @Option(
        name: .long,
        help: ArgumentHelp("The public key of an exec: signer command; one per exec: key, in order.", valueName: "PUB.pem")
    )
    var signerPub: [String] = []

    /// The keys `--key` names, in order.
    func load(_ specs: [String]) throws -> [PrivateKey] {
        let commands = specs.filter(CommandSigner.isCommand)
        guard commands.count == signerPub.count else {
            throw AirlockFailure(
                message: "give one --signer-pub for each exec: key (\(commands.count) exec: key(s), \(signerPub.count) --signer-pub)",
                status: .usage
            )
        }
        var publicKeys = try signerPub.map { try PublicKey(contentsOf: $0) }[...]
        return try specs.map { spec in
            if PKCS11URI.isURI(spec) {
                let uri = try PKCS11URI(spec)
                return PrivateKey(token: try PKCS11Key(uri: uri, modulePath: modulePath, pin: try readPIN()))
            }
            if CommandSigner.isCommand(spec) {
                return PrivateKey(command: try CommandSigner(spec, publicKey: publicKeys.removeFirst()))
            }
            return try PrivateKey(contentsOf: spec, passphrase: try readPassphrase(passphraseFile))
        }
    }

    var modulePath: String { pkcs11Module ?? ProcessInfo.processInfo.environment["AIRLOCK_PKCS11_MODULE"] ?? "" }

    /// The token's user PIN, from `--pin-file` or `AIRLOCK_PKCS11_PIN`.
    func readPIN() throws -> String {
        guard let pin = try readSecret(pinFile, what: "PIN", environment: "AIRLOCK_PKCS11_PIN") else {
            throw AirlockFailure(
                message: "a pkcs11: key needs the token's PIN: give --pin-file FILE or set AIRLOCK_PKCS11_PIN",
                status: .usage
            )
        }
        return pin
    }
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
    try readSecret(file, what: "passphrase", environment: "AIRLOCK_KEY_PASSPHRASE")
}

/// A secret from `file` (line ends trimmed), else from the environment variable; nil
/// when neither is given.
private func readSecret(_ file: String?, what: String, environment: String) throws -> String? {
    if let file {
        guard let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8) else {
            throw AirlockFailure(message: "cannot read \(what) file \(file)", status: .usage)
        }
        return text.trimmingCharacters(in: .newlines)
    }
    if let value = ProcessInfo.processInfo.environment[environment], !value.isEmpty { return value }
    return nil
}
