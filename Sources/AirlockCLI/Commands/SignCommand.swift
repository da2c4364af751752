import AirlockCore
import ArgumentParser
import Foundation
import Signing

struct SignCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign",
        abstract: "Add a signature to an existing bundle without repacking its content.",
        discussion: """
            Checks every entry against the statement first. The statement frame is rewritten with the new signature \
            appended; all other frames are copied byte for byte. The detached envelope is issued anew, signed by this key.
            """
    )

    @Argument(help: "The bundle.") var bundle: String
    @Option(name: .long, help: ArgumentHelp("The key to sign with: a PEM file, a pkcs11: URI, or exec:COMMAND.", valueName: "KEY")) var key:
        String
    @Option(
        name: .long,
        help: ArgumentHelp("The key's X.509 certificate (PEM, leaf first), carried in the signature.", valueName: "CERT.pem")
    )
    var cert: String?
    @OptionGroup var keyHolder: KeyHolderOptions
    @OptionGroup var outputOptions: OutputOptions

    struct Result: Encodable {
        let bundle: String
        let sha256: String
        let signerKeyIDs: [String]
        let detached: String
    }

    func run() throws {
        var keys = try keyHolder.load([key])
        try present(certificates: cert.map { [$0] } ?? [], to: &keys)
        let privateKey = keys[0]
        let result = try BundleSigner(bundle: bundle, key: privateKey).sign()
        let output = Result(bundle: bundle, sha256: result.sha256, signerKeyIDs: result.signerKeyIDs, detached: result.detachedPath)
        try outputOptions.emit(output) {
            """
            signed \(bundle) with key \(privateKey.publicKey.keyID)\nsigners: \(result.signerKeyIDs.joined(separator: ", "))\nsha256 \
            \(result.sha256)\n
            """
        }
    }
}
