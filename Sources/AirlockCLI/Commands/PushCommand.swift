import AirlockCore
import ArgumentParser
import Foundation
import Registry
import Signing

struct PushCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Push a bundle's images and charts into a registry, straight from the bundle.",
        discussion: """
            Checks the signature before anything is sent. Blobs the registry has are skipped, blobs sent to another \
            repository in this push are mounted, the rest stream from the bundle through its seek index and are checked \
            while streaming; manifests follow their blobs and tags come last, so a tampered or interrupted push leaves no \
            tag pointing at missing content. Run it again after an interruption: it sends only what is missing.
            Images keep their path under the target (docker.io/library/nginx:1.27 → HOST/PREFIX/library/nginx:1.27);
            charts go to HOST/PREFIX/charts/NAME:VERSION. The mapping and node mirror configs (containerd hosts.toml,
            k3s registries.yaml, containers registries.conf) are written to --config-dir.
            With --cosign-key every image must carry a cosign signature by one of those keys (checked offline, before \
            anything is sent; exit 1 and nothing pushed otherwise).
            Every target repository is checked before the first upload (registries such as ECR, Quay, Harbor and GitLab \
            create none on push: all missing ones are named in one line). Referrers (signatures, attestations, SBOMs) go \
            after their images; where the registry has no referrers API they are also listed under the sha256-<hex> \
            referrers tag the OCI distribution spec defines. An artifact the registry refuses is reported (exit 1) while \
            everything else lands.
            The push records the bundle's signed envelope in the registry's import ledger (PREFIX/airlock/imports, tagged \
            NAME-VERSION), last, after every tag; before sending anything it reads the ledger and refuses a rollback (this \
            bundle imported before at a higher version) or a replacement (the same version with other images or charts) unless \
            --allow-downgrade or --allow-replace. airlock history lists the imports; --no-ledger skips the ledger.
            """
    )

    @Argument(help: "The bundle, or a folder made by airlock unpack.") var bundle: String
    @Option(name: .long, help: ArgumentHelp("The target registry.", valueName: "HOST[:PORT][/PREFIX]")) var registry: String
    @OptionGroup var trust: TrustOptions
    @OptionGroup var registryOptions: RegistryOptions
    @Option(name: .long, help: "Upload blobs in PATCH chunks of this many bytes (for proxies that limit body size).")
    var chunkSize: Int64?
    @Option(name: .long, help: "Where to write mapping.json/.txt and the node mirror configs.") var configDir = "airlock-push"
    @Option(name: .long, help: ArgumentHelp("Renaming rules: rules: [{match: SOURCE-PREFIX, replace: NEW-PREFIX}].", valueName: "FILE"))
    var rules: String?
    @Option(
        name: .long,
        help: ArgumentHelp(
            """
            For a delta bundle (pack --since): the bundle it builds on, which provides the layers the delta leaves out (the registry \
            need not hold them).
            """,
            valueName: "OLD.tar.zst"
        )
    )
    var base: String?
    @OptionGroup var cosign: CosignOptions
    @Flag(
        name: .long,
        help:
            """
            Check the signature, ask the registry what it has, and say what a push would do (each tag new, unchanged or moved; blobs \
            to upload, mount or skip), sending and writing nothing.
            """
    )
    var dryRun = false
    @Flag(name: .long, help: "Leave out the signatures, attestations and SBOMs that refer to images (for a registry that refuses them).")
    var skipReferrers = false
    @Flag(
        name: .long,
        help: "Neither read nor write the registry's import ledger: no rollback or replacement check, no record of this import."
    )
    var noLedger = false
    @Option(
        name: .long,
        help: ArgumentHelp("The import ledger's repository under the prefix (default airlock/imports).", valueName: "REPO")
    )
    var ledger: String?
    @Flag(name: .long, help: "Push although the ledger shows this bundle imported before at a higher version.")
    var allowDowngrade = false
    @Flag(name: .long, help: "Push although the ledger shows this bundle's version imported before with other content.")
    var allowReplace = false
    @Flag(
        name: .shortAndLong,
        help: "No progress on stderr (otherwise a live line on a terminal, plain lines elsewhere, JSON lines with --output json)."
    )
    var quiet = false
    @OptionGroup var outputOptions: OutputOptions

    func run() async throws {
        if let chunkSize, chunkSize < 1024 { throw AirlockFailure(message: "--chunk-size must be at least 1024 bytes", status: .usage) }
        let options = try pusherOptions()
        let progress = PushProgress(quiet: quiet, output: outputOptions.output)
        let warnings = WarningLog(format: outputOptions.output)
        let report: PushReport
        do {
            report = try await Pusher(options: options) { event in
                if case .warning(let message) = event { warnings.add(message) }
                progress.handle(event)
            }.push()
            progress.finish()
        } catch {
            progress.finish()
            throw error
        }
        if report.dryRun == true {
            try emitPlan(report)
        } else {
            try emit(report)
        }
    }

    private func pusherOptions() throws -> Pusher.Options {
        let policy = try trust.policy()
        if trust.allowUnsigned && outputOptions.output == .text {
            note("WARNING: --allow-unsigned: an unsigned bundle will be pushed without proof of who made it")
        }
        var options = Pusher.Options(
            source: bundle,
            target: registry,
            policy: policy,
            transport: try registryOptions.transport(),
            chunkSize: chunkSize,
            configDirectory: configDir
        )
        if let rules { options.rules = try PushRules.load(path: rules) }
        options.base = base
        options.cosign = try cosign.trust()
        options.attestations = cosign.requireAttestation
        options.dryRun = dryRun
        options.skipReferrers = skipReferrers
        options.ledger = ledger
        options.recordImport = !noLedger
        options.allowDowngrade = allowDowngrade
        options.allowReplace = allowReplace
        return options
    }

    /// What a dry run would do: each tag's change, the blobs and manifests to send.
    private func emitPlan(_ report: PushReport) throws {
        try outputOptions.emit(report) {
            var text = renderImageSignatures(report.imageSignatures) + "dry run: nothing was sent to \(registry)\n"
            for tag in report.tags ?? [] {
                switch tag.change {
                case .new: text += "tag \(tag.reference): new → \(tag.digest)\n"
                case .moved: text += "tag \(tag.reference): MOVED \(tag.current ?? "?") → \(tag.digest)\n"
                case .unchanged: text += "tag \(tag.reference): unchanged \(tag.digest)\n"
                }
            }
            text +=
                """
                blobs: \(report.blobs.uploaded) to upload (\(formatBytes(report.blobs.bytesSent))), \(report.blobs.present) \
                already present, \(report.blobs.mounted) to mount\n
                """
            text += "manifests: \(report.manifestsPushed) to push, \(report.manifestsPresent) already present\n"
            return text
        }
    }

    /// What was pushed; a refused ledger entry or artifact fails the command after it is reported.
    private func emit(_ report: PushReport) throws {
        try outputOptions.emit(report) {
            var text = renderImageSignatures(report.imageSignatures)
            text += report.images.map { "\($0.source) -> \($0.target)@\($0.digest)\n" }.joined()
            text +=
                """
                blobs: \(report.blobs.uploaded) uploaded (\(formatBytes(report.blobs.bytesSent))), \(report.blobs.present) already \
                present, \(report.blobs.mounted) mounted, \(report.blobs.retried) requests retried\n
                """
            text += "manifests: \(report.manifestsPushed) pushed, \(report.manifestsPresent) already present\n"
            text += "mapping and mirror configs in \(configDir)/\n"
            if let ledger = report.ledger { text += "recorded in the import ledger: \(ledger)\n" }
            for refusal in report.refused ?? [] {
                text += "REFUSED by the registry: \(refusal.reference)\(refusal.artifactType.map { " (\($0))" } ?? ""): \(refusal.reason)\n"
            }
            return text
        }
        if let reason = report.ledgerRefused {
            throw AirlockFailure(
                message:
                    """
                    registry \(registry) refused the import ledger's entry (\(reason)); every image and chart is pushed and tagged, \
                    but the import is not recorded: push again with --no-ledger for a registry that stores no artifacts
                    """,
                status: .checkFailed
            )
        }
        if let refused = report.refused, !refused.isEmpty {
            throw AirlockFailure(
                message:
                    """
                    registry \(registry) refused \(refused.count) artifact(s) (first: \(refused[0].reference)); every image and chart \
                    it accepted is pushed and tagged; push again with --skip-referrers to leave them out
                    """,
                status: .checkFailed
            )
        }
    }
}
