import AirlockCore
import ArgumentParser
import Foundation
import Signing

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
            """
    )

    @Argument(help: "The bundle (a split bundle: its name, or one part's with --detached).") var bundle: String
    @OptionGroup var trust: TrustOptions
    @Flag(
        name: .long,
        help: "Check the file (or each part, or the one part named) against its signed detached envelope instead of checking every entry."
    ) var detached = false
    @Option(name: .long, help: ArgumentHelp("The detached envelope (default: BUNDLE.intoto.json); implies --detached.", valueName: "FILE"))
    var envelope: String?
    @OptionGroup var cosign: CosignOptions
    @OptionGroup var outputOptions: OutputOptions

    func run() async throws {
        let policy = try trust.policy()
        let cosignTrust = try cosign.trust()
        guard detached || envelope != nil else {
            var report = try Verifier(path: bundle, policy: policy).run()
            if !cosignTrust.isEmpty {
                try await ImageSignatureCheck.check(&report, policy: policy, trust: cosignTrust, attestations: cosign.requireAttestation)
            }
            try emitVerification(report, outputOptions)
            return
        }
        if !cosignTrust.isEmpty {
            throw AirlockFailure(
                message:
                    "--cosign-key and --cosign-identity check the images inside the bundle, which --detached does not open: "
                    + "verify without --detached",
                status: .usage
            )
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
        var text =
            """
            verified \(bundle) against its detached envelope \(report.envelope): \(report.name ?? "?") \(report.version ?? "?"), \
            created \(report.created ?? "?")\n
            """
        if report.unsigned { text += "WARNING: the envelope is UNSIGNED; accepted only because of --allow-unsigned\n" }
        text += report.signatures.map(renderSignature).joined()
        if let parts = report.parts {
            text += parts.map { "\($0.path): sha256 \($0.sha256 ?? "?"), \(formatBytes($0.size ?? 0)) — the part as signed\n" }.joined()
            if report.onlyPart != nil { text += "only this part was checked; name the bundle (without .partNNN) to check every part\n" }
        } else {
            text +=
                """
                sha256 \(sha256), \(formatBytes(size)) — the file as \
                signed\(report.signedName.map { $0 == URL(fileURLWithPath: bundle).lastPathComponent ? "" : " (signed as \($0))" } ?? "")\n
                """
        }
        text += "the entries were not opened: airlock verify without --detached checks each of them\n"
        print(text, terminator: "")
    }
}
