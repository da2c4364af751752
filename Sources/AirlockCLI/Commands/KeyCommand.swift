import AirlockCore
import ArgumentParser
import Foundation
import Signing

struct KeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key",
        abstract: "Manage signing keys.",
        subcommands: [Generate.self]
    )

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate a key pair: NAME.key (PKCS#8 PEM, mode 0600) and NAME.pub (PKIX PEM).",
            discussion: """
                With --pkcs11 URI the pair is generated inside the token (sensitive, not extractable; the URI's object= \
                labels it, id= identifies it) and only NAME.pub is written: sign with --key URI afterwards.
                """
        )

        @Option(name: .long, help: ArgumentHelp("Path prefix of the key files.", valueName: "NAME"))
        var out: String

        @Option(name: .long, help: "ecdsa-p256 (default) or ed25519.")
        var type: KeyType = .ecdsaP256

        @Option(
            name: .long,
            help: ArgumentHelp("Generate the pair inside this PKCS#11 token instead (pkcs11:token=...;object=...).", valueName: "URI")
        )
        var pkcs11: String?

        @OptionGroup var keyHolder: KeyHolderOptions
        @OptionGroup var outputOptions: OutputOptions

        struct Result: Encodable {
            let privateKey: String
            let publicKey: String
            let keyID: String
            let type: String
            let encrypted: Bool
        }

        func run() throws {
            let privatePath = out + ".key"
            let publicPath = out + ".pub"
            for path in (pkcs11 == nil ? [privatePath, publicPath] : [publicPath]) where FileManager.default.fileExists(atPath: path) {
                throw AirlockFailure(message: "\(path) already exists; choose another --out or remove it", status: .usage)
            }
            if let pkcs11 {
                let uri = try PKCS11URI(pkcs11)
                let publicKey = try PKCS11Key.generate(type, uri: uri, modulePath: keyHolder.modulePath, pin: try keyHolder.readPIN())
                try writeNew(try publicKey.pem(), to: publicPath, mode: 0o644)
                let result = Result(
                    privateKey: uri.text,
                    publicKey: publicPath,
                    keyID: publicKey.keyID,
                    type: type.rawValue,
                    encrypted: false
                )
                try outputOptions.emit(result) {
                    "generated in the token: \(uri.text)\nwrote \(publicPath)\nkey id \(result.keyID) (\(type.rawValue))\n"
                }
                return
            }
            let passphrase = try readPassphrase(keyHolder.passphraseFile)
            let key = try PrivateKey.generate(type)
            try writeNew(try key.pkcs8PEM(passphrase: passphrase), to: privatePath, mode: 0o600)
            try writeNew(try key.publicKey.pem(), to: publicPath, mode: 0o644)
            let result = Result(
                privateKey: privatePath,
                publicKey: publicPath,
                keyID: key.publicKey.keyID,
                type: type.rawValue,
                encrypted: passphrase != nil
            )
            try outputOptions.emit(result) {
                """
                wrote \(privatePath) and \(publicPath)\nkey id \(result.keyID) \
                (\(type.rawValue)\(result.encrypted ? ", encrypted" : ""))\n
                """
            }
        }

        private func writeNew(_ bytes: [UInt8], to path: String, mode: mode_t) throws {
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode)
            guard fd >= 0 else {
                throw AirlockFailure(message: "cannot create \(path): \(String(cString: strerror(errno)))", status: .usage)
            }
            defer { close(fd) }
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard written == bytes.count else { throw AirlockFailure(message: "cannot write \(path)", status: .usage) }
        }
    }
}

extension KeyType: ExpressibleByArgument {}
