import AirlockCore
import ArgumentParser
import Foundation
import OCI
import Signing

struct PackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pack",
        abstract: "Pack the images, charts, endpoint configs and files of airlock.yaml into one signed bundle.",
        discussion: """
            Writes NAME-VERSION.tar.zst (or -o FILE) and its detached envelope FILE.intoto.json. Without --key the
            bundle is unsigned: verify refuses it unless told --allow-unsigned, and `airlock sign` can sign it later.
            The time recorded is metadata.created, else SOURCE_DATE_EPOCH, else now.
            With --split-size the bundle is written as parts FILE.part001, FILE.part002, … of that size (the last \
            smaller), whose concatenation is the bundle; every command reads them in place (name FILE or any part), and \
            the detached envelope signs each part's sha256, so a gate can check one disc at a time.
            With --since OLD (an earlier bundle, its parts or its .intoto.json envelope) the layers OLD carried are \
            left out and not pulled: a delta bundle, for slow links, that is pushed into a registry which already \
            holds OLD. OLD may also be an inventory of the target registry (airlock inventory, run inside): then \
            every layer that registry holds is left out. The statement lists what was left out; verify accepts \
            exactly those.
            """
    )

    @Option(name: .shortAndLong, help: "The bundle spec.")
    var file = "airlock.yaml"

    @Option(name: .shortAndLong, help: ArgumentHelp("The bundle to write (default NAME-VERSION.tar.zst).", valueName: "FILE.tar.zst"))
    var out: String?

    @Option(
        name: .long,
        help: ArgumentHelp("Sign with this key: a PEM file, a pkcs11: URI, or exec:COMMAND; repeat for several signers.", valueName: "KEY")
    )
    var key: [String] = []

    @Option(
        name: .long,
        help: ArgumentHelp(
            """
            The X.509 certificate of a --key (PEM, leaf first, then intermediates), carried in its signature for verifiers that trust \
            a CA (--signer-root); repeatable.
            """,
            valueName: "CERT.pem"
        )
    )
    var cert: [String] = []

    @OptionGroup var keyHolder: KeyHolderOptions

    @Option(name: .long, help: "Content cache (default $AIRLOCK_CACHE, $XDG_CACHE_HOME/airlock or ~/.cache/airlock).")
    var cache: String?

    @Flag(
        name: .long,
        help:
            """
            Do not keep pulled blobs in the cache: they go straight into the bundle, written to disk once (half the writes and disk \
            space); the next pack pulls them again. Blobs already cached are still used.
            """
    )
    var noCache = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            """
            Write the bundle as parts of at most this size, for media such as DVDs: 4G and 4480MiB count in 1024s, 4.7GB in 1000s; \
            rounded down to whole 4 KiB pages, at least 4KiB.
            """,
            valueName: "SIZE"
        )
    )
    var splitSize: ByteSize?

    @Option(
        name: .long,
        help: ArgumentHelp(
            """
            Leave out the layers this earlier bundle (or its .intoto.json envelope) carried, or that this registry inventory (airlock \
            inventory) lists: a delta bundle for a registry that already holds them.
            """,
            valueName: "OLD.tar.zst|INVENTORY.json"
        )
    )
    var since: String?

    @Flag(
        name: .long,
        help:
            """
            Resolve every tag and plan the bundle (entries, bytes, blobs to pull, parts), pulling no layer and writing nothing; \
            manifests and charts are still fetched.
            """
    )
    var dryRun = false

    @Option(name: .long, help: "zstd level for compressible entries (1-19); already-compressed layers are stored as they are.")
    var level: Int32 = 3

    @Flag(
        name: .long,
        help: ArgumentHelp(
            """
            Carry this airlock binary in the bundle as files/airlock/airlock (signed like every entry), for a site that has no \
            airlock yet; see --include-airlock-from.
            """
        )
    )
    var includeAirlock = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Carry this file (an airlock release archive from scripts/release) as files/airlock/NAME instead of the running binary.",
            valueName: "ARCHIVE"
        )
    )
    var includeAirlockFrom: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            """
            Keep only this platform of multi-platform images without their own platforms: (from registries, layouts and archives \
            alike; the attestation manifests buildx attached to a kept platform stay with it); repeatable.
            """,
            valueName: "OS/ARCH[/VARIANT]"
        )
    )
    var platform: [String] = []

    @Flag(help: "Fail when a chart's default values or templates name an image the bundle does not carry.")
    var strict = false

    @Flag(
        help:
            """
            Sign, with the --key(s), a delivery attestation (https://airlock.dev/attestations/delivery/v1) for every image and chart, \
            which push attaches as cosign does (sha256-<hex>.att tag and OCI 1.1 referrer) for admission policies; also attest: true \
            in airlock.yaml.
            """
    )
    var attest = false

    @OptionGroup var registryOptions: RegistryOptions

    @Flag(
        name: .shortAndLong,
        help:
            """
            No progress on stderr (otherwise a live line on a terminal, plain lines elsewhere, JSON lines with --output json); \
            warnings still show.
            """
    )
    var quiet = false

    @OptionGroup var outputOptions: OutputOptions

    func validate() throws {
        guard (1...19).contains(level) else { throw ValidationError("--level must be between 1 and 19") }
        if attest, key.isEmpty { throw ValidationError("--attest signs each image's attestation with the bundle's key: give --key") }
        if let splitSize, splitSize.bytes < Packer.minimumPartSize {
            throw ValidationError("--split-size must be at least 4KiB (got \(splitSize.bytes) bytes)")
        }
    }

    struct Result: Encodable {
        let bundle: String
        let detached: String
        let size: Int64
        let sha256: String
        /// The files of a split bundle, in order.
        let parts: [Part]?
        /// Files an earlier bundle of the same name left that were removed.
        let removed: [String]
        /// A delta bundle (`--since`): what it builds on and the layers it leaves out.
        let base: BundlePredicate.Base?
        let signed: Bool
        let signerKeyIDs: [String]
        let entries: Int
        let images: [BundlePredicate.Image]
        let charts: [BundlePredicate.Chart]
        let endpoints: [BundlePredicate.Endpoint]
        let files: [BundlePredicate.File]
        let warnings: [String]
        /// Blobs pulled from registries (and how many were already cached), when any were.
        let pulled: PackProgress.PullSummary?

        struct Part: Encodable {
            let path: String
            let size: Int64
            let sha256: String
        }
    }

    func run() async throws {
        let options = try packerOptions()
        let progress = PackProgress(quiet: quiet, output: outputOptions.output)
        let warnings = WarningLog(format: outputOptions.output)
        let packer = Packer(options: options) { event in
            if case .warning(let message) = event { warnings.add(message) }
            progress.handle(event)
        }
        let result: Packer.Result
        do {
            result = try await packer.pack()
            progress.finish()
        } catch {
            progress.finish()
            throw error
        }
        if let plan = result.plan {
            try emitPlan(plan, result: result, warnings: warnings.all)
            return
        }
        try emit(result, warnings: warnings.all, pulled: progress.pull)
    }

    /// The options as the packer takes them: keys loaded (certificates presented), platforms parsed.
    private func packerOptions() throws -> Packer.Options {
        var keys = try keyHolder.load(key)
        try present(certificates: cert, to: &keys)
        var options = Packer.Options(
            specPath: file,
            output: out,
            keys: keys,
            cacheRoot: cache ?? ContentStore.defaultRoot(),
            now: Int64(Date().timeIntervalSince1970)
        )
        options.compressionLevel = level
        options.transport = try registryOptions.transport()
        options.platforms = try platform.map { try Platform(parsing: $0) }
        options.strict = strict
        options.attest = attest
        options.keepPulledBlobs = !noCache
        options.partSize = splitSize?.bytes
        options.since = since
        options.dryRun = dryRun
        if let archive = includeAirlockFrom {
            guard FileManager.default.isReadableFile(atPath: archive) else {
                throw AirlockFailure(message: "--include-airlock-from \(archive): no such readable file", status: .usage)
            }
            options.includeAirlock = archive
        } else if includeAirlock {
            options.includeAirlock = try runningExecutable()
        }
        return options
    }

    /// What was packed, as JSON or as text.
    private func emit(_ result: Packer.Result, warnings: [String], pulled: PackProgress.PullSummary?) throws {
        let predicate = result.statement.predicate
        let output = Result(
            bundle: result.bundlePath,
            detached: result.detachedPath,
            size: result.size,
            sha256: result.sha256,
            parts: result.parts.isEmpty ? nil : result.parts.map { .init(path: $0.path, size: $0.size, sha256: $0.sha256) },
            removed: result.removed,
            base: predicate.base,
            signed: !result.signerKeyIDs.isEmpty,
            signerKeyIDs: result.signerKeyIDs,
            entries: result.statement.subject.count + 1,
            images: predicate.images,
            charts: predicate.charts,
            endpoints: predicate.endpoints,
            files: predicate.files,
            warnings: warnings,
            pulled: pulled
        )
        try outputOptions.emit(output) {
            var text = "packed \(result.bundlePath) (\(formatBytes(result.size)), \(output.entries) entries)\n"
            text += "sha256 \(result.sha256)\n"
            if !result.parts.isEmpty {
                text += "in \(result.parts.count) parts:\n"
                text += result.parts.map { "  \($0.path) \(formatBytes($0.size)) sha256 \($0.sha256)\n" }.joined()
            }
            text += result.removed.map { "removed \($0), left by an earlier bundle of the same name\n" }.joined()
            if let base = predicate.base { text += renderBase(base) }
            text += "detached envelope \(result.detachedPath)\n"
            if let pulled = output.pulled {
                text +=
                    """
                    pulled \(pulled.blobs) blobs (\(formatBytes(pulled.bytes))) in \(String(format: "%.1f", pulled.seconds)) s, \
                    \(pulled.cached) already cached\n
                    """
            }
            text +=
                result.signerKeyIDs.isEmpty
                ? "UNSIGNED: sign it with `airlock sign` before it leaves this host\n"
                : result.signerKeyIDs.map { "signed by key \($0)\n" }.joined()
            for chart in predicate.charts where chart.dependencies != nil || !(chart.images ?? []).isEmpty {
                text += "chart \(chart.name) \(chart.version)\n" + renderDependencies(chart.dependencies ?? [], indent: "  ")
                let images = chart.images ?? []
                let problems = images.filter(\.isProblem).count
                let needed = images.filter { $0.found != .values }
                let inBundle = needed.filter { $0.status == .inBundle }.count
                text +=
                    "  \(needed.count) image(s) this install pulls or declares: \(inBundle) in the bundle, "
                        + """
                        \(problems) missing; \(images.count - needed.count) more named in values but not rendered (airlock inspect lists \
                        them)\n
                        """
            }
            return text
        }
    }
}

extension PackCommand {
    struct PlanResult: Encodable {
        let dryRun = true
        let bundle: String
        let plan: Packer.Plan
        let images: [BundlePredicate.Image]
        let charts: [BundlePredicate.Chart]
        let endpoints: [BundlePredicate.Endpoint]
        let files: [BundlePredicate.File]
        let base: BundlePredicate.Base?
        let warnings: [String]
    }

    /// A dry run's plan: what would be packed, pulled and written.
    func emitPlan(_ plan: Packer.Plan, result: Packer.Result, warnings: [String]) throws {
        let predicate = result.statement.predicate
        let output = PlanResult(
            bundle: result.bundlePath,
            plan: plan,
            images: predicate.images,
            charts: predicate.charts,
            endpoints: predicate.endpoints,
            files: predicate.files,
            base: predicate.base,
            warnings: warnings
        )
        try outputOptions.emit(output) {
            var text = "dry run: no layer pulled, nothing written\n"
            text +=
                """
                would pack \(result.bundlePath): \(plan.entries) entries, \(formatBytes(plan.bytes)) of content (the bundle is at \
                most that, plus framing)\n
                """
            text += "would pull \(plan.pullBlobs) blobs (\(formatBytes(plan.pullBytes))); \(plan.cached) already in the cache\n"
            if let parts = plan.parts { text += "in at most \(parts) part(s) of --split-size\n" }
            if let base = predicate.base { text += renderBase(base) }
            text += predicate.images.map {
                "image \($0.name) \($0.digest)\($0.platforms.map { " (" + $0.joined(separator: ", ") + ")" } ?? "")\n"
            }.joined()
            text += predicate.charts.map { "chart \($0.name) \($0.version) \($0.digest)\n" }.joined()
            return text
        }
    }
}

/// The running airlock binary's path (for `--include-airlock`).
func runningExecutable() throws -> String {
    let path = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    guard FileManager.default.isReadableFile(atPath: path) else {
        throw AirlockFailure(
            message: "--include-airlock: cannot read the running binary (\(path)); give --include-airlock-from FILE",
            status: .usage
        )
    }
    // Swift names it airlock either way; a renamed copy keeps its own name.
    return path
}
