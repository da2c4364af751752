import AirlockCore
import ArgumentParser
import Foundation
import Registry
import Signing

/// `--ca-file` and `--plain-http`, on every command that talks to registries.
struct RegistryOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("A PEM CA bundle trusted in addition to the system's; repeatable.", valueName: "PEM"))
    var caFile: [String] = []

    @Option(name: .long, help: ArgumentHelp("Speak plain HTTP to this registry (never a silent fallback); repeatable.", valueName: "HOST[:PORT]"))
    var plainHttp: [String] = []

    @Option(name: .long, help: "Parallel transfers.")
    var jobs = 4

    func transport() throws -> TransportOptions {
        for file in caFile where !FileManager.default.isReadableFile(atPath: file) {
            throw AirlockFailure(message: "--ca-file \(file) does not exist or is not readable", status: .usage)
        }
        guard (1...64).contains(jobs) else { throw AirlockFailure(message: "--jobs must be between 1 and 64", status: .usage) }
        var options = TransportOptions(caFiles: caFile, plainHTTPHosts: Set(plainHttp), jobs: jobs)
        options.userAgent = "airlock/\(BundleFormat.toolVersion)"
        return options
    }
}

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
            """)

    @Argument(help: "The bundle, or a folder made by airlock unpack.") var bundle: String
    @Option(name: .long, help: ArgumentHelp("The target registry.", valueName: "HOST[:PORT][/PREFIX]")) var registry: String
    @OptionGroup var trust: TrustOptions
    @OptionGroup var registryOptions: RegistryOptions
    @Option(name: .long, help: "Upload blobs in PATCH chunks of this many bytes (for proxies that limit body size).")
    var chunkSize: Int64?
    @Option(name: .long, help: "Where to write mapping.json/.txt and the node mirror configs.") var configDir = "airlock-push"
    @Option(name: .long, help: ArgumentHelp("Renaming rules: rules: [{match: SOURCE-PREFIX, replace: NEW-PREFIX}].", valueName: "FILE"))
    var rules: String?
    @Option(name: .long, help: ArgumentHelp("For a delta bundle (pack --since): the bundle it builds on, which provides the layers the delta leaves out (the registry need not hold them).", valueName: "OLD.tar.zst"))
    var base: String?
    @OptionGroup var cosign: CosignOptions
    @Flag(name: .long, help: "Check the signature, ask the registry what it has, and say what a push would do (each tag new, unchanged or moved; blobs to upload, mount or skip), sending and writing nothing.")
    var dryRun = false
    @Flag(name: .long, help: "Leave out the signatures, attestations and SBOMs that refer to images (for a registry that refuses them).")
    var skipReferrers = false
    @Flag(name: .long, help: "Neither read nor write the registry's import ledger: no rollback or replacement check, no record of this import.")
    var noLedger = false
    @Option(name: .long, help: ArgumentHelp("The import ledger's repository under the prefix (default airlock/imports).", valueName: "REPO"))
    var ledger: String?
    @Flag(name: .long, help: "Push although the ledger shows this bundle imported before at a higher version.")
    var allowDowngrade = false
    @Flag(name: .long, help: "Push although the ledger shows this bundle's version imported before with other content.")
    var allowReplace = false
    @Flag(name: .shortAndLong, help: "No progress on stderr (otherwise a live line on a terminal, plain lines elsewhere, JSON lines with --output json).")
    var quiet = false
    @OptionGroup var outputOptions: OutputOptions

    func run() async throws {
        if let chunkSize, chunkSize < 1024 { throw AirlockFailure(message: "--chunk-size must be at least 1024 bytes", status: .usage) }
        let policy = try trust.policy()
        if trust.allowUnsigned && outputOptions.output == .text {
            note("WARNING: --allow-unsigned: an unsigned bundle will be pushed without proof of who made it")
        }
        var options = Pusher.Options(source: bundle, target: registry, policy: policy, transport: try registryOptions.transport(),
                                     chunkSize: chunkSize, configDirectory: configDir)
        if let rules { options.rules = try PushRules.load(path: rules) }
        options.base = base
        options.cosignKeys = try cosign.keys()
        options.attestations = cosign.requireAttestation
        options.dryRun = dryRun
        options.skipReferrers = skipReferrers
        options.ledger = ledger
        options.recordImport = !noLedger
        options.allowDowngrade = allowDowngrade
        options.allowReplace = allowReplace
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
            try outputOptions.emit(report) {
                var text = renderImageSignatures(report.imageSignatures) + "dry run: nothing was sent to \(registry)\n"
                for tag in report.tags ?? [] {
                    switch tag.change {
                    case "new": text += "tag \(tag.reference): new → \(tag.digest)\n"
                    case "moved": text += "tag \(tag.reference): MOVED \(tag.current ?? "?") → \(tag.digest)\n"
                    default: text += "tag \(tag.reference): unchanged \(tag.digest)\n"
                    }
                }
                text += "blobs: \(report.blobs.uploaded) to upload (\(formatBytes(report.blobs.bytesSent))), \(report.blobs.present) already present, \(report.blobs.mounted) to mount\n"
                text += "manifests: \(report.manifestsPushed) to push, \(report.manifestsPresent) already present\n"
                return text
            }
            return
        }
        try outputOptions.emit(report) {
            var text = renderImageSignatures(report.imageSignatures)
            text += report.images.map { "\($0.source) -> \($0.target)@\($0.digest)\n" }.joined()
            text += "blobs: \(report.blobs.uploaded) uploaded (\(formatBytes(report.blobs.bytesSent))), \(report.blobs.present) already present, \(report.blobs.mounted) mounted, \(report.blobs.retried) requests retried\n"
            text += "manifests: \(report.manifestsPushed) pushed, \(report.manifestsPresent) already present\n"
            text += "mapping and mirror configs in \(configDir)/\n"
            if let ledger = report.ledger { text += "recorded in the import ledger: \(ledger)\n" }
            for refusal in report.refused ?? [] {
                text += "REFUSED by the registry: \(refusal.reference)\(refusal.artifactType.map { " (\($0))" } ?? ""): \(refusal.reason)\n"
            }
            return text
        }
        if let reason = report.ledgerRefused {
            throw AirlockFailure(message: "registry \(registry) refused the import ledger's entry (\(reason)); every image and chart is pushed and tagged, but the import is not recorded: push again with --no-ledger for a registry that stores no artifacts", status: .checkFailed)
        }
        if let refused = report.refused, !refused.isEmpty {
            throw AirlockFailure(message: "registry \(registry) refused \(refused.count) artifact(s) (first: \(refused[0].reference)); every image and chart it accepted is pushed and tagged; push again with --skip-referrers to leave them out", status: .checkFailed)
        }
    }
}

struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Check credentials against a registry and store them in docker's config.json.",
        discussion: "Writes $REGISTRY_AUTH_FILE, $DOCKER_CONFIG/config.json or ~/.docker/config.json (mode 0600).")

    @Argument(help: "The registry.") var host: String
    @Option(name: .shortAndLong, help: "User name.") var username: String
    @Flag(name: .long, help: "Read the password from standard input (the only way: it never appears in arguments).")
    var passwordStdin = false
    @OptionGroup var registryOptions: RegistryOptions
    @OptionGroup var outputOptions: OutputOptions

    struct Result: Encodable {
        let registry: String
        let username: String
        let configFile: String
    }

    func run() async throws {
        guard passwordStdin else { throw AirlockFailure(message: "give the password on standard input with --password-stdin", status: .usage) }
        let input = FileHandle.standardInput.readDataToEndOfFile()
        let password = String(decoding: input, as: UTF8.self).trimmingCharacters(in: .newlines)
        guard !password.isEmpty else { throw AirlockFailure(message: "no password on standard input", status: .usage) }
        // Check the credentials with a throwaway store holding only them.
        let scratch = NSTemporaryDirectory() + "airlock-login-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let trial = CredentialStore(environment: ["DOCKER_CONFIG": scratch])
        try trial.store(username: username, password: password, for: host)
        let client = try RegistryClient(host: host, options: try registryOptions.transport(), credentials: trial)
        do {
            try await client.ping()
            await client.shutdown()
        } catch {
            await client.shutdown()
            throw error
        }
        let store = CredentialStore()
        try store.store(username: username, password: password, for: host)
        try outputOptions.emit(Result(registry: host, username: username, configFile: store.configPath)) {
            "logged in to \(host) as \(username); credentials stored in \(store.configPath)\n"
        }
    }
}

struct InventoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inventory",
        abstract: "List what a registry holds (repositories, tags, blobs), for the next pack to leave out (pack --since FILE).",
        discussion: """
            Run it inside the network against the private registry and carry the file out: a pack with --since FILE \
            then leaves out every layer the registry already has and does not pull them, and a push of that delta \
            checks they are still there (mounting them from the repository listed) before it sends anything. \
            It walks every tag of every repository in the registry's catalog (only those under PREFIX when given), or \
            of the repositories named with --repository, down to configs and layers. The file holds repository names, \
            tags and digests, nothing else; read it before it leaves. The time recorded is SOURCE_DATE_EPOCH, else now.
            """)

    @Option(name: .long, help: ArgumentHelp("The registry.", valueName: "HOST[:PORT][/PREFIX]")) var registry: String
    @Option(name: .long, help: ArgumentHelp("A repository (path under PREFIX) to list instead of the catalog; repeatable.", valueName: "NAME"))
    var repository: [String] = []
    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the inventory.", valueName: "FILE")) var out = "inventory.json"
    @OptionGroup var registryOptions: RegistryOptions
    @Flag(name: .shortAndLong, help: "No progress on stderr.") var quiet = false
    @OptionGroup var outputOptions: OutputOptions

    struct Result: Encodable {
        let registry: String
        let file: String
        let created: String
        let repositories: Int
        let tags: Int
        let blobs: Int
        let bytes: Int64
    }

    func run() async throws {
        let options = RegistryInventory.Options(registry: registry, repositories: repository, transport: try registryOptions.transport(),
                                                created: try sourceDateEpoch() ?? Int64(Date().timeIntervalSince1970))
        let progress = quiet || outputOptions.output == .json ? { @Sendable (_: String) in } : { @Sendable in note("listing \($0)") }
        let inventory = try await RegistryInventory.take(options, progress: progress)
        do {
            try inventory.encoded().write(to: URL(fileURLWithPath: out), options: .atomic)
        } catch {
            throw AirlockFailure(message: "cannot write \(out): \(error.localizedDescription)", status: .usage)
        }
        let result = Result(registry: registry, file: out, created: inventory.created, repositories: inventory.repositories.count,
                            tags: inventory.repositories.reduce(0) { $0 + $1.tags.count }, blobs: inventory.blobs.count,
                            bytes: inventory.blobs.reduce(0) { $0 + $1.size })
        try outputOptions.emit(result) {
            "inventory of \(registry): \(result.repositories) repositories, \(result.tags) tags, \(result.blobs) blobs (\(formatBytes(result.bytes))) in \(out)\n"
                + "carry it out and pack with --since \(out): layers the registry holds are left out\n"
        }
    }
}

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Prove that what runs came from signed bundles: every tag of a registry, or every image digest listed, looked up in them.",
        discussion: """
            Each BUNDLE (a bundle, its parts, or only its detached .intoto.json envelope, which is small to keep) must be \
            signed by one of the --keys (or with a certificate under a --signer-root); its statement signs the digest \
            of every manifest it carried. With --registry \
            every tag of every repository there (under PREFIX, or those named with --repository) is looked up; with \
            --images FILE (or - for stdin) every image the cluster runs: kubectl get pods -A -o json (each container \
            named NAMESPACE/POD/CONTAINER), or one image digest per line (the pods' imageID). \
            A running image that no bundle carries, or every one when no BUNDLE and no --registry are given, counts \
            as signed when a delivery attestation (pack --attest) beside it in its registry verifies with a --key. \
            Exit 0 when every one came from a signed bundle, 1 when any did not (each is listed), 2 for bad input.
            """)

    @Argument(help: "The signed bundles (or their .intoto.json envelopes) to audit against.") var bundles: [String] = []
    @OptionGroup var trust: TrustOptions
    @Option(name: .long, help: ArgumentHelp("Audit every tag of this registry.", valueName: "HOST[:PORT][/PREFIX]")) var registry: String?
    @Option(name: .long, help: ArgumentHelp("With --registry: a repository (path under PREFIX) instead of the catalog; repeatable.", valueName: "NAME"))
    var repository: [String] = []
    @Option(name: .long, help: ArgumentHelp("Audit what runs: kubectl get pods -o json, or one image digest per line; - for stdin.", valueName: "FILE"))
    var images: String?
    @OptionGroup var registryOptions: RegistryOptions
    @OptionGroup var outputOptions: OutputOptions

    func run() async throws {
        guard !trust.allowUnsigned else { throw AirlockFailure(message: "audit proves signatures: --allow-unsigned has no place here", status: .usage) }
        let policy = try trust.policy()
        guard registry != nil || images != nil else {
            throw AirlockFailure(message: "say what runs: --registry HOST[/PREFIX] and/or --images FILE (the pods' imageIDs)", status: .usage)
        }
        var listed: [Auditor.ListedImage] = []
        if let images {
            let data = images == "-" ? FileHandle.standardInput.readDataToEndOfFile() : FileManager.default.contents(atPath: images)
            guard let data else { throw AirlockFailure(message: "cannot read --images \(images)", status: .usage) }
            listed = try Auditor.parseImages(String(decoding: data, as: UTF8.self), source: images == "-" ? "stdin" : images)
        }
        let inventory = try registry.map {
            RegistryInventory.Options(registry: $0, repositories: repository, transport: try registryOptions.transport(),
                                      created: Int64(Date().timeIntervalSince1970))
        }
        let report = try await Auditor.audit(bundles: bundles, policy: policy, registry: inventory, images: listed,
                                             transport: try registryOptions.transport())
        try outputOptions.emit(report) {
            var text = report.bundles.isEmpty ? "no bundles given: running images proven by the delivery attestations beside them\n"
                : "every bundle's signature verified: " + report.bundles.map { "\($0.name) \($0.version)" }.joined(separator: ", ") + "\n"
            for finding in report.findings {
                text += finding.signed
                    ? "signed    \(finding.reference) \(finding.digest): \(finding.what ?? "") in \(finding.bundles.joined(separator: ", "))\n"
                    : "UNSIGNED  \(finding.reference) \(finding.digest): in none of the bundles given, with no trusted delivery attestation"
                        + (finding.signedAs ?? []).map { "; \($0.bundle) signed \($0.name) as \($0.digest)" }.joined() + "\n"
            }
            text += "\(report.signed) of \(report.findings.count) from signed bundles" + (report.registry.map { " (registry \($0))" } ?? "")
                + (report.unsigned > 0 ? "; \(report.unsigned) not\n" : "\n")
            return text
        }
        if report.unsigned > 0 { throw ExitCode(ExitStatus.checkFailed.rawValue) }
    }
}
