import AirlockCore
import ArgumentParser
import Foundation
import Signing

/// `airlock sign-file`: a detached, signed envelope for any file (release archives, checksum
/// lists), checked by `airlock verify FILE --detached --envelope ENVELOPE`.
struct SignFileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign-file",
        abstract: "Sign any file with a detached envelope (FILE.intoto.json), as a bundle's gate copy is signed.",
        discussion: """
            The envelope is a DSSE envelope over an in-toto statement whose subject is the file (its name, sha256 and size), \
            signed by each --key. Check it with airlock verify FILE --detached --envelope ENVELOPE --key KEY.pub, or with \
            openssl and sha256sum as the README's recipe shows. scripts/release signs SHA256SUMS this way.
            """
    )

    @Argument(help: "The file to sign.") var file: String
    @Option(
        name: .long,
        help: ArgumentHelp("A key to sign with (a PEM file, a pkcs11: URI, or exec:COMMAND); repeat for several signers.", valueName: "KEY")
    ) var key: [String]
    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the envelope (default FILE.intoto.json).", valueName: "ENVELOPE"))
    var out: String?
    @Option(name: .long, help: "The name the statement gives (default: the file's name).") var name: String?
    @Option(name: .long, help: "The version the statement gives (default: this airlock's).") var version: String?
    @OptionGroup var keyHolder: KeyHolderOptions
    @OptionGroup var outputOptions: OutputOptions

    func run() throws {
        guard !key.isEmpty else { throw AirlockFailure(message: "give at least one --key", status: .usage) }
        guard FileManager.default.isReadableFile(atPath: file) else {
            throw AirlockFailure(message: "\(file): no such readable file", status: .usage)
        }
        let keys = try keyHolder.load(key)
        let created = ProcessInfo.processInfo.environment["SOURCE_DATE_EPOCH"].flatMap(Int64.init) ?? Int64(Date().timeIntervalSince1970)
        let result = try FileSigner.sign(
            file: file,
            name: name ?? URL(fileURLWithPath: file).lastPathComponent,
            version: version ?? BundleFormat.toolVersion,
            keys: keys,
            created: created,
            envelope: out ?? file + ".intoto.json"
        )
        try outputOptions.emit(result) {
            "signed \(file) (sha256 \(result.sha256), \(result.size) bytes)\nenvelope \(result.envelope)\n"
                + result.signerKeyIDs.map { "signed by key \($0)\n" }.joined()
        }
    }
}
