import Foundation
import Hashing
import OCI
import Registry
import Signing

/// What happens during a push, for the CLI to render.
public enum PushEvent: Sendable {
    case planned(images: Int, blobs: Int, bytes: Int64)
    case blob(digest: String, outcome: BlobOutcome, bytes: Int64)
    case manifest(reference: String, pushed: Bool)
    /// Something the operator should know that does not stop the push.
    case warning(String)
}

/// Pushes a bundle's images and charts into a registry straight from the bundle: signature first,
/// then blobs (skipped when present, mounted across repositories, otherwise streamed from the
/// bundle and checked while streaming), then child manifests, then tags. Nothing is extracted.
public struct Pusher: Sendable {
    public struct Options: Sendable {
        /// A bundle file or an unpacked bundle folder.
        public var source: String
        /// `HOST[:PORT][/PREFIX]`.
        public var target: String
        public var policy: SignaturePolicy
        public var transport: TransportOptions
        public var chunkSize: Int64?
        /// Where the mapping and node mirror configs go.
        public var configDirectory: String
        /// Renaming rules (`--rules`).
        public var rules = PushRules()
        /// `--base`: for a delta bundle, the bundle it builds on, which provides the left-out layers.
        public var base: String?
        /// `--cosign-key`, `--cosign-identity`: every image must carry a cosign signature by one of these keys or identities.
        public var cosign = CosignTrust()
        /// `--require-attestation`: predicate types every image must also be attested with, by those signers.
        public var attestations: [String] = []
        /// `--dry-run`: ask the registry what it has and report what a push would do, sending nothing.
        public var dryRun = false
        /// `--skip-referrers`: leave out signatures, attestations and SBOMs that refer to an image.
        public var skipReferrers = false
        /// `--ledger REPO` (under the prefix); nil: `airlock/imports`.
        public var ledger: String?
        /// Read the import ledger before sending (refusing rollbacks and replacements) and record
        /// this import in it at the end; `--no-ledger` turns it off.
        public var recordImport = true
        /// `--allow-downgrade`, `--allow-replace`: push although the ledger shows a newer import
        /// of the bundle, or the same version with other content.
        public var allowDowngrade = false
        public var allowReplace = false

        public init(
            source: String,
            target: String,
            policy: SignaturePolicy,
            transport: TransportOptions,
            chunkSize: Int64?,
            configDirectory: String
        ) {
            self.source = source
            self.target = target
            self.policy = policy
            self.transport = transport
            self.chunkSize = chunkSize
            self.configDirectory = configDirectory
        }
    }

    public let options: Options
    public let progress: @Sendable (PushEvent) -> Void

    public init(options: Options, progress: @escaping @Sendable (PushEvent) -> Void = { _ in }) {
        self.options = options
        self.progress = progress
    }

    public func push() async throws -> PushReport {
        let target = try PushTarget(options.target)
        // The signature is checked before anything is sent.
        let source = try openPushSource(options.source, policy: options.policy, base: options.base)
        // So is every image's cosign signature, when keys are given.
        let signatures =
            options.cosign.isEmpty
            ? nil
            : try await ImageSignatureCheck.require(
                source,
                trust: options.cosign,
                attestations: options.attestations,
                consequence: "nothing was pushed"
            )
        let plans = try await ImagePlan.make(from: source, target: target, rules: options.rules)
            .filter { !options.skipReferrers || $0.subject == nil }
        guard let first = plans.first else { throw PushError.nothingToPush(source: options.source) }

        let client = try RegistryClient(host: target.host, options: options.transport)
        return try await withShutdown(client.shutdown) {
            var report = try await run(plans, source: source, client: client, target: target, firstRepository: first.repository)
            report.imageSignatures = signatures
            return report
        }
    }

    /// Checks the target, plans every step with HEAD requests, then executes the plan (or, for a
    /// dry run, reports it).
    private func run(
        _ plans: [ImagePlan],
        source: any PushSource,
        client: RegistryClient,
        target: PushTarget,
        firstRepository: RepositoryName
    ) async throws -> PushReport {
        try await client.ping(repository: firstRepository, push: true)
        try await checkRepositories(plans, client: client, target: target)
        let ledger = try await checkLedger(source, client: client, target: target)
        // A delta bundle's left-out layers must be in the registry already (or mountable from a
        // repository of this push): planning checks them, so a push to the wrong registry fails
        // at once and sends nothing.
        let plan = try await makePlan(plans, source: source, client: client)
        if options.dryRun { return await plan.report(registry: options.target, host: target.host, unsigned: source.unsigned) }
        let tally = PushTally()
        progress(.planned(images: plans.count, blobs: plan.blobs.count, bytes: plan.blobs.reduce(0) { $0 + $1.work.size }))
        // Left-out layers are mounted before anything is uploaded.
        try await forEach(plan.blobs.filter(\.leftOut), jobs: options.transport.jobs) { blob in
            try await self.execute(blob, source: source, client: client, tally: tally)
        }
        try await forEach(plan.blobs.filter { !$0.leftOut }, jobs: options.transport.jobs) { blob in
            try await self.execute(blob, source: source, client: client, tally: tally)
        }
        // Child manifests (by digest) for every image, then the tags.
        try await forEach(plan.children, jobs: options.transport.jobs) { steps in
            for step in steps { try await self.put(step, client: client, tally: tally) }
        }
        try await putRoots(plan.roots, client: client, host: target.host, tally: tally)
        try await maintainReferrersTags(await tally.referrersToIndex(), client: client, tally: tally)
        let refusedReferences = Set(await tally.refusedReferences())
        let mappings = plans.filter { !refusedReferences.contains($0.targetName(host: target.host)) }.map { $0.mapping(host: target.host) }
        let files = try MirrorConfigs(
            target: target,
            plainHTTP: options.transport.usesPlainHTTP(target.host),
            caFiles: options.transport.caFiles,
            mappings: mappings,
            rules: options.rules
        )
        .write(to: options.configDirectory)
        var report = await tally.report(registry: options.target, mappings: mappings, files: files, unsigned: source.unsigned)
        report.blobs.retried = await client.retries
        // Last, after every tag: an entry in the ledger means a complete import.
        if let ledger, report.refused == nil { try await record(source, in: ledger, host: target.host, report: &report) }
        return report
    }

    /// Images and charts first, then what refers to them (a registry may refuse a referrer whose
    /// subject it does not have yet). An artifact the registry refuses (older Artifactory, Quay or
    /// ECR refuse some artifact and config types) is reported and the rest still lands.
    private func putRoots(_ roots: [PushPlan.ManifestStep], client: RegistryClient, host: String, tally: PushTally) async throws {
        @Sendable func refused(_ step: PushPlan.ManifestStep, _ error: RegistryError) async {
            await tally.refused(
                .init(reference: step.plan.targetName(host: host), artifactType: step.plan.artifactType, reason: "\(error)")
            )
        }
        try await forEach(roots.filter { $0.plan.subject == nil }, jobs: options.transport.jobs) { step in
            do {
                try await self.put(step, client: client, tally: tally)
            } catch let error as RegistryError where step.plan.isArtifact && Self.isRefusal(error) {
                await refused(step, error)
            }
        }
        try await forEach(roots.filter { $0.plan.subject != nil }, jobs: options.transport.jobs) { step in
            do {
                let indexed = try await self.put(step, client: client, tally: tally)
                if !indexed { await tally.needsReferrersTag(step.plan) }
            } catch let error as RegistryError where Self.isRefusal(error) {
                await refused(step, error)
            }
        }
    }

    /// Records the import in the ledger. A registry that refuses the entry (one that stores no
    /// artifacts) leaves the import complete but unrecorded: reported, exit 1.
    private func record(_ source: any PushSource, in ledger: LedgerWrite, host: String, report: inout PushReport) async throws {
        let tag = ImportLedger.tag(name: source.statement.predicate.name, version: source.statement.predicate.version)
        do {
            if ledger.write {
                _ = try await ledger.ledger.record(envelope: source.envelope, statement: source.statement, pushedAt: ImportLedger.now())
            }
            report.ledger = "\(host)/\(ledger.ledger.repository):\(tag)"
        } catch let error as RegistryError where Self.isRefusal(error) {
            report.ledgerRefused = "\(error)"
        }
    }

    /// Reads the import ledger before anything is sent: a rollback or a replacement is refused
    /// (unless allowed), an entry that does not verify is reported. Nil with `--no-ledger`.
    struct LedgerWrite {
        let ledger: ImportLedger
        let write: Bool
    }

    func checkLedger(_ source: any PushSource, client: RegistryClient, target: PushTarget) async throws -> LedgerWrite? {
        guard options.recordImport else { return nil }
        let ledger = ImportLedger(
            client: client,
            repository: try ImportLedger.repository(target: target, explicit: options.ledger),
            policy: options.policy
        )
        let (warnings, recorded) = try await ledger.check(
            source.statement,
            allowDowngrade: options.allowDowngrade,
            allowReplace: options.allowReplace
        )
        for warning in warnings { progress(.warning(warning)) }
        // The ledger holds signed envelopes: an unsigned bundle (--allow-unsigned) is checked
        // against it but not recorded, or every later check would report an entry that does not verify.
        if source.unsigned {
            progress(.warning("an unsigned bundle is not recorded in the import ledger \(ledger.repository)"))
            return nil
        }
        // A bundle already recorded (a re-run) is not recorded again: immutable tags refuse it.
        return LedgerWrite(ledger: ledger, write: !recorded)
    }

}

/// Repositories found missing, collected from concurrent checks.
actor MissingList {
    private var names: [String] = []
    func add(_ name: String) { names.append(name) }
    var sorted: [String] { names.sorted() }
}
