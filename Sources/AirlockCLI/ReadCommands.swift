import AirlockCore
import ArgumentParser
import Foundation
import Signing

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a bundle's contents from its first frame, without decompressing the rest. Does NOT verify.")

    @Argument(help: "The bundle.") var bundle: String
    @OptionGroup var outputOptions: OutputOptions

    func run() throws {
        let report = try Inspector.inspect(path: bundle)
        try outputOptions.emit(report) { renderInspect(report) }
    }
}

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify a bundle in one streaming pass: signature, then every entry's digest, then completeness.",
        discussion: """
            Exit 0 when it verified, 1 when any check failed, 2 for usage errors.
            With --detached it checks only the file, as a gate does before letting it in: the detached envelope's \
            signature (BUNDLE.intoto.json, or --envelope), then the file's size and sha256 against it, without opening \
            the bundle.
            With --cosign-key it also checks that every image carries a cosign signature by one of those keys, naming \
            its digest (offline: the signatures travel in the bundle, packed with referrers: true).
            """)

    @Argument(help: "The bundle (a split bundle: its name, or one part's with --detached).") var bundle: String
    @OptionGroup var trust: TrustOptions
    @Flag(name: .long, help: "Check the file (or each part, or the one part named) against its signed detached envelope instead of checking every entry.") var detached = false
    @Option(name: .long, help: ArgumentHelp("The detached envelope (default: BUNDLE.intoto.json); implies --detached.", valueName: "FILE"))
    var envelope: String?
    @OptionGroup var cosign: CosignOptions
    @OptionGroup var outputOptions: OutputOptions

    func run() async throws {
        let policy = try trust.policy()
        let cosignKeys = try cosign.keys()
        guard detached || envelope != nil else {
            var report = try Verifier(path: bundle, policy: policy).run()
            if !cosignKeys.isEmpty {
                try await ImageSignatureCheck.check(&report, policy: policy, keys: cosignKeys, attestations: cosign.requireAttestation)
            }
            try emitVerification(report, outputOptions)
            return
        }
        if !cosignKeys.isEmpty {
            throw AirlockFailure(message: "--cosign-key checks the images inside the bundle, which --detached does not open: verify without --detached", status: .usage)
        }
        let report = try DetachedCheck(bundle: bundle, envelope: envelope, policy: policy).run()
        if outputOptions.output == .json {
            try outputOptions.emit(report) { "" }
            if !report.verified { throw ExitCode(ExitStatus.checkFailed.rawValue) }
            return
        }
        guard report.verified, let sha256 = report.sha256, let size = report.size else {
            throw AirlockFailure(message: "verification failed: \(report.failure ?? "unknown reason")", status: .checkFailed)
        }
        var text = "verified \(bundle) against its detached envelope \(report.envelope): \(report.name ?? "?") \(report.version ?? "?"), created \(report.created ?? "?")\n"
        if report.unsigned { text += "WARNING: the envelope is UNSIGNED; accepted only because of --allow-unsigned\n" }
        text += report.signatures.map(renderSignature).joined()
        if let parts = report.parts {
            text += parts.map { "\($0.path): sha256 \($0.sha256 ?? "?"), \(formatBytes($0.size ?? 0)) — the part as signed\n" }.joined()
            if report.onlyPart != nil { text += "only this part was checked; name the bundle (without .partNNN) to check every part\n" }
        } else {
            text += "sha256 \(sha256), \(formatBytes(size)) — the file as signed\(report.signedName.map { $0 == URL(fileURLWithPath: bundle).lastPathComponent ? "" : " (signed as \($0))" } ?? "")\n"
        }
        text += "the entries were not opened: airlock verify without --detached checks each of them\n"
        print(text, terminator: "")
    }
}

struct UnpackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unpack",
        abstract: "Verify and unpack a bundle into a new folder: oci/ (an OCI image layout), charts/, endpoints/, files/.",
        discussion: """
            The folder appears only when everything verified; on failure nothing is left behind. A delta bundle \
            (pack --since) needs --base, the bundle it builds on or the folder that one was unpacked into: the layers it \
            leaves out are copied from there, each checked against its signed digest.
            """)

    @Argument(help: "The bundle.") var bundle: String
    @Option(name: [.short, .customLong("out")], help: ArgumentHelp("The folder to create.", valueName: "DIR")) var out: String
    @Option(name: .long, help: ArgumentHelp("For a delta bundle: the bundle it builds on, or the folder that one was unpacked into.", valueName: "OLD.tar.zst|DIR"))
    var base: String?
    @OptionGroup var trust: TrustOptions
    @OptionGroup var outputOptions: OutputOptions

    func run() throws {
        try emitVerification(try Unpacker(bundle: bundle, output: out, policy: try trust.policy(), base: base).unpack(), outputOptions,
                             trailer: "unpacked into \(out)\n")
    }
}

struct SignCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign",
        abstract: "Add a signature to an existing bundle without repacking its content.",
        discussion: """
            Checks every entry against the statement first. The statement frame is rewritten with the new signature \
            appended; all other frames are copied byte for byte. The detached envelope is issued anew, signed by this key.
            """)

    @Argument(help: "The bundle.") var bundle: String
    @Option(name: .long, help: ArgumentHelp("The private key to sign with.", valueName: "NAME.key")) var key: String
    @Option(name: .long, help: ArgumentHelp("The key's X.509 certificate (PEM, leaf first), carried in the signature.", valueName: "CERT.pem"))
    var cert: String?
    @Option(name: .long, help: "Passphrase file for an encrypted key (or set AIRLOCK_KEY_PASSPHRASE).") var passphraseFile: String?
    @OptionGroup var outputOptions: OutputOptions

    struct Result: Encodable {
        let bundle: String
        let sha256: String
        let signerKeyIDs: [String]
        let detached: String
    }

    func run() throws {
        var keys = [try loadPrivateKey(key, passphraseFile: passphraseFile)]
        try present(certificates: cert.map { [$0] } ?? [], to: &keys)
        let privateKey = keys[0]
        let result = try BundleSigner(bundle: bundle, key: privateKey).sign()
        let output = Result(bundle: bundle, sha256: result.sha256, signerKeyIDs: result.signerKeyIDs, detached: result.detachedPath)
        try outputOptions.emit(output) {
            "signed \(bundle) with key \(privateKey.publicKey.keyID)\nsigners: \(result.signerKeyIDs.joined(separator: ", "))\nsha256 \(result.sha256)\n"
        }
    }
}

struct ExtractCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extract",
        abstract: "Extract one entry through the seek index, verified, without decompressing the rest of the bundle.")

    @Argument(help: "The bundle.") var bundle: String
    @Argument(help: "The entry's path in the bundle, e.g. oci/blobs/sha256/<hex> or files/INSTALL.md.") var entry: String
    @Option(name: [.short, .customLong("out")], help: ArgumentHelp("Where to write it.", valueName: "FILE")) var out: String
    @OptionGroup var trust: TrustOptions
    @OptionGroup var outputOptions: OutputOptions

    struct Result: Encodable {
        let entry: String
        let written: String
    }

    func run() throws {
        let access = try BundleRandomAccess(path: bundle, policy: try trust.policy())
        try access.extract(entry, to: out)
        try outputOptions.emit(Result(entry: entry, written: out)) { "wrote \(entry) to \(out) (verified)\n" }
    }
}

/// Prints a verification report (JSON, or text for a verified bundle) and exits 1 if it failed.
private func emitVerification(_ report: VerificationReport, _ output: OutputOptions, trailer: String = "") throws {
    if output.output == .json {
        try output.emit(report) { "" }
        if !report.verified { throw ExitCode(ExitStatus.checkFailed.rawValue) }
        return
    }
    try requireVerified(report)
    print(renderVerified(report) + trailer, terminator: "")
}

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
            """)

    @Argument(help: "The file to sign.") var file: String
    @Option(name: .long, help: ArgumentHelp("A private key to sign with; repeat for several signers.", valueName: "NAME.key")) var key: [String]
    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the envelope (default FILE.intoto.json).", valueName: "ENVELOPE")) var out: String?
    @Option(name: .long, help: "The name the statement gives (default: the file's name).") var name: String?
    @Option(name: .long, help: "The version the statement gives (default: this airlock's).") var version: String?
    @Option(name: .long, help: "Passphrase file for an encrypted key (or set AIRLOCK_KEY_PASSPHRASE).") var passphraseFile: String?
    @OptionGroup var outputOptions: OutputOptions

    func run() throws {
        guard !key.isEmpty else { throw AirlockFailure(message: "give at least one --key", status: .usage) }
        guard FileManager.default.isReadableFile(atPath: file) else { throw AirlockFailure(message: "\(file): no such readable file", status: .usage) }
        let keys = try key.map { try loadPrivateKey($0, passphraseFile: passphraseFile) }
        let created = ProcessInfo.processInfo.environment["SOURCE_DATE_EPOCH"].flatMap(Int64.init) ?? Int64(Date().timeIntervalSince1970)
        let result = try FileSigner.sign(file: file, name: name ?? URL(fileURLWithPath: file).lastPathComponent,
                                         version: version ?? BundleFormat.toolVersion, keys: keys, created: created,
                                         envelope: out ?? file + ".intoto.json")
        try outputOptions.emit(result) {
            "signed \(file) (sha256 \(result.sha256), \(result.size) bytes)\nenvelope \(result.envelope)\n"
                + result.signerKeyIDs.map { "signed by key \($0)\n" }.joined()
        }
    }
}
