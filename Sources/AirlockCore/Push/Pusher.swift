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
        /// `--cosign-key`: every image must carry a cosign signature by one of these keys.
        public var cosignKeys: [PublicKey] = []
        /// `--require-attestation`: predicate types every image must also be attested with, by those keys.
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
            options.cosignKeys.isEmpty
            ? nil
            : try await ImageSignatureCheck.require(
                source,
                keys: options.cosignKeys,
                attestations: options.attestations,
                consequence: "nothing was pushed"
            )
        let plans = try await ImagePlan.make(from: source, target: target, rules: options.rules)
            .filter { !options.skipReferrers || $0.subject == nil }
        guard let first = plans.first else { throw AirlockError.input("\(options.source) holds no images or charts to push") }

        let client = try RegistryClient(host: target.host, options: options.transport)
        return try await withShutdown(client.shutdown) {
            var report =
                options.dryRun
                ? try await plan(plans, source: source, client: client, target: target, firstRepository: first.repository)
                : try await run(plans, source: source, client: client, target: target, firstRepository: first.repository)
            report.imageSignatures = signatures
            return report
        }
    }

    private func run(
        _ plans: [ImagePlan],
        source: any PushSource,
        client: RegistryClient,
        target: PushTarget,
        firstRepository: String
    ) async throws -> PushReport {
        try await client.ping(repository: firstRepository, push: true)
        try await checkRepositories(plans, client: client, target: target)
        let ledger = try await checkLedger(source, client: client, target: target)
        let tally = PushTally()
        let blobs = BlobWork.group(plans)
        progress(.planned(images: plans.count, blobs: blobs.count, bytes: blobs.reduce(0) { $0 + $1.size }))
        // A delta bundle's left-out layers must be in the registry already (or mountable from a
        // repository of this push): checked before anything is sent, so a push to the wrong
        // registry fails at once and sends nothing.
        let leftOut = source.missingLeftOut()
        if let base = source.statement.predicate.base, !leftOut.isEmpty {
            let repositories = Array(Set(plans.map(\.repository))).sorted()
            try await forEach(blobs.filter { leftOut[$0.digest] != nil }, jobs: options.transport.jobs) { work in
                try await self.placeLeftOutBlob(work, base: base, candidates: repositories, client: client, tally: tally)
            }
        }
        try await forEach(blobs.filter { leftOut[$0.digest] == nil }, jobs: options.transport.jobs) { work in
            try await self.pushBlob(work, source: source, client: client, tally: tally)
        }
        // Child manifests (by digest) for every image, then the tags.
        try await forEach(plans, jobs: options.transport.jobs) { plan in
            for child in plan.children {
                try await self.pushManifest(
                    plan.repository,
                    reference: child.descriptor.digest.description,
                    child.descriptor,
                    child.bytes,
                    client: client,
                    tally: tally
                )
            }
        }
        // Images and charts first, then what refers to them (a registry may refuse a referrer
        // whose subject it does not have yet). An artifact the registry refuses (older Artifactory,
        // Quay or ECR refuse some artifact and config types) is reported and the rest still lands.
        let (subjects, referrers) = (plans.filter { $0.subject == nil }, plans.filter { $0.subject != nil })
        try await forEach(subjects, jobs: options.transport.jobs) { plan in
            do {
                try await self.pushManifest(
                    plan.repository,
                    reference: plan.tag ?? plan.root.digest.description,
                    plan.root,
                    plan.rootBytes,
                    client: client,
                    tally: tally
                )
            } catch let error as RegistryError where plan.isArtifact && Self.isRefusal(error) {
                await tally.refused(
                    .init(reference: plan.targetName(host: target.host), artifactType: plan.artifactType, reason: "\(error)")
                )
            }
        }
        try await forEach(referrers, jobs: options.transport.jobs) { plan in
            do {
                let indexed = try await self.pushManifest(
                    plan.repository,
                    reference: plan.tag ?? plan.root.digest.description,
                    plan.root,
                    plan.rootBytes,
                    client: client,
                    tally: tally
                )
                if !indexed { await tally.needsReferrersTag(plan) }
            } catch let error as RegistryError where Self.isRefusal(error) {
                await tally.refused(
                    .init(reference: plan.targetName(host: target.host), artifactType: plan.artifactType, reason: "\(error)")
                )
            }
        }
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
        // A registry that refuses the entry (one that stores no artifacts) leaves the import
        // complete but unrecorded: reported, exit 1.
        if let ledger, report.refused == nil {
            let tag = ImportLedger.tag(name: source.statement.predicate.name, version: source.statement.predicate.version)
            do {
                if ledger.write {
                    _ = try await ledger.ledger.record(envelope: source.envelope, statement: source.statement, pushedAt: ImportLedger.now())
                }
                report.ledger = "\(target.host)/\(ledger.ledger.repository):\(tag)"
            } catch let error as RegistryError where Self.isRefusal(error) {
                report.ledgerRefused = "\(error)"
            }
        }
        return report
    }

    /// Reads the import ledger before anything is sent: a rollback or a replacement is refused
    /// (unless allowed), an entry that does not verify is reported. Nil with `--no-ledger`.
    struct LedgerWrite {
        let ledger: ImportLedger
        let write: Bool
    }

    private func checkLedger(_ source: any PushSource, client: RegistryClient, target: PushTarget) async throws -> LedgerWrite? {
        guard options.recordImport else { return nil }
        let ledger = ImportLedger(
            client: client,
            repository: ImportLedger.repository(target: target, explicit: options.ledger),
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

    /// One blob into every repository that needs it: present → skip; already sent to another
    /// repository in this push → mount; otherwise stream it from the bundle.
    private func pushBlob(_ work: BlobWork, source: any PushSource, client: RegistryClient, tally: PushTally) async throws {
        var home: String?
        for repository in work.repositories {
            if try await isPresent(work.digest, in: repository, client: client) {
                await tally.count(.present, bytes: 0)
                progress(.blob(digest: work.digest, outcome: .present, bytes: 0))
                home = home ?? repository
                continue
            }
            if let home, try await client.mountBlob(repository, digest: work.digest, from: home) {
                await tally.count(.mounted, bytes: 0)
                progress(.blob(digest: work.digest, outcome: .mounted, bytes: 0))
                continue
            }
            let path = try BundleFormat.blobEntry(work.digest)
            do {
                try await client.uploadBlob(repository, digest: work.digest, size: work.size, chunkSize: options.chunkSize) {
                    try source.chunks(of: path)
                }
            } catch RegistryError.digestMismatch(_, _, let actual) {
                throw AirlockError.verification(
                    """
                    \(work.owner): blob \(work.digest) does not match its signed digest (got \(actual)): tampered or corrupted; it \
                    was not committed and no manifest was pushed
                    """
                )
            }
            await tally.count(.uploaded, bytes: work.size)
            await tally.uploaded(work.digest)
            progress(.blob(digest: work.digest, outcome: .uploaded, bytes: work.size))
            home = home ?? repository
        }
    }

    /// What ``run(_:source:client:target:firstRepository:)`` would do, from the registry's answers
    /// to HEAD requests alone: each blob present, to mount or to upload; each manifest present or
    /// to push; each tag new, unchanged or moved. A delta's left-out layers are checked as a push
    /// checks them (and a missing one refused the same way). Nothing is sent or written.
    private func plan(
        _ plans: [ImagePlan],
        source: any PushSource,
        client: RegistryClient,
        target: PushTarget,
        firstRepository: String
    ) async throws -> PushReport {
        try await client.ping(repository: firstRepository, push: true)
        try await checkRepositories(plans, client: client, target: target)
        _ = try await checkLedger(source, client: client, target: target)
        let tally = PushTally()
        let blobs = BlobWork.group(plans)
        let leftOut = source.missingLeftOut()
        if let base = source.statement.predicate.base, !leftOut.isEmpty {
            let repositories = Array(Set(plans.map(\.repository))).sorted()
            try await forEach(blobs.filter { leftOut[$0.digest] != nil }, jobs: options.transport.jobs) { work in
                try await self.placeLeftOutBlob(work, base: base, candidates: repositories, client: client, tally: tally, dryRun: true)
            }
        }
        try await forEach(blobs.filter { leftOut[$0.digest] == nil }, jobs: options.transport.jobs) { work in
            var held = false
            for repository in work.repositories {
                if try await self.isPresent(work.digest, in: repository, client: client) {
                    await tally.count(.present, bytes: 0)
                    held = true
                } else if held {
                    await tally.count(.mounted, bytes: 0)
                } else {
                    await tally.count(.uploaded, bytes: work.size)
                    held = true
                }
            }
        }
        try await forEach(plans, jobs: options.transport.jobs) { plan in
            for child in plan.children {
                let present =
                    try await client.manifestDigest(
                        plan.repository,
                        reference: child.descriptor.digest.description,
                        accept: [child.descriptor.mediaType]
                    ) == child.descriptor.digest.description
                await tally.manifest(pushed: !present)
            }
            let reference = plan.tag ?? plan.root.digest.description
            let current = try await client.manifestDigest(plan.repository, reference: reference, accept: [plan.root.mediaType])
            let digest = plan.root.digest.description
            await tally.manifest(pushed: current != digest)
            if plan.tag != nil {
                await tally.tag(
                    .init(
                        reference: "\(target.host)/\(plan.repository):\(reference)",
                        digest: digest,
                        current: current
                    )
                )
            }
        }
        var report = await tally.report(
            registry: options.target,
            mappings: plans.map { $0.mapping(host: target.host) },
            files: [],
            unsigned: source.unsigned
        )
        report.dryRun = true
        return report
    }

    /// A layer a delta bundle leaves out: present in each repository that needs it, or mounted
    /// there from a repository of this push that has it (where the earlier bundle's images went)
    /// or from the repository the inventory it was packed against listed it in.
    private func placeLeftOutBlob(
        _ work: BlobWork,
        base: BundlePredicate.Base,
        candidates: [String],
        client: RegistryClient,
        tally: PushTally,
        dryRun: Bool = false
    ) async throws {
        let listed = base.blobs.first { $0.digest == work.digest }?.repository
        let candidates = candidates + (listed.map { [$0] } ?? [])
        var home: String?
        for repository in work.repositories {
            if try await client.blobExists(repository, digest: work.digest) {
                await tally.count(.present, bytes: 0)
                progress(.blob(digest: work.digest, outcome: .present, bytes: 0))
                home = home ?? repository
                continue
            }
            if home == nil {
                for candidate in candidates where candidate != repository {
                    if try await client.blobExists(candidate, digest: work.digest) { home = candidate; break }
                }
            }
            let mounted: Bool
            if let home {
                mounted = try await dryRun ? true : client.mountBlob(repository, digest: work.digest, from: home)
            } else {
                mounted = false
            }
            guard mounted else {
                if let registry = base.registry {
                    throw AirlockError.input(
                        """
                        \(work.owner): layer \(work.digest) is left out of this delta bundle (\(base.title) listed \
                        it\(listed.map { " in \($0)" } ?? "")) and \(options.target) does not have it: push into \(registry), or pack \
                        again against a fresh inventory or without --since; nothing was pushed
                        """
                    )
                }
                throw AirlockError.input(
                    """
                    \(work.owner): layer \(work.digest) is left out of this delta bundle (it builds on \(base.title)) and \
                    \(options.target) does not have it: push \(base.title) there first, give --base with that bundle, or pack without \
                    --since; nothing was pushed
                    """
                )
            }
            await tally.count(.mounted, bytes: 0)
            progress(.blob(digest: work.digest, outcome: .mounted, bytes: 0))
        }
    }

    /// Whether the repository has the blob. A registry that keeps answering the check with a 5xx
    /// (after the client's retries) gets the blob uploaded again: docker-registry does so for a
    /// blob whose link file a crash left empty, and the upload rewrites the link; a registry that
    /// is really down fails the upload instead, with its own message.
    private func isPresent(_ digest: String, in repository: String, client: RegistryClient) async throws -> Bool {
        do {
            return try await client.blobExists(repository, digest: digest)
        } catch RegistryError.status(_, _, let status, _) where status >= 500 {
            return false
        }
    }

    /// Pushes one manifest unless the registry has it; true when the registry said it indexed the
    /// manifest's subject itself (`OCI-Subject`), so no referrers tag is needed.
    @discardableResult
    private func pushManifest(
        _ repository: String,
        reference: String,
        _ descriptor: Descriptor,
        _ bytes: [UInt8],
        client: RegistryClient,
        tally: PushTally
    ) async throws -> Bool {
        let digest = descriptor.digest.description
        if try await client.manifestDigest(repository, reference: reference, accept: [descriptor.mediaType]) == digest {
            await tally.manifest(pushed: false)
            progress(.manifest(reference: "\(repository):\(reference)", pushed: false))
            return false
        }
        let subject = try await client.putManifest(
            repository,
            reference: reference,
            mediaType: descriptor.mediaType,
            bytes: bytes,
            digest: digest
        )
        await tally.manifest(pushed: true)
        progress(.manifest(reference: "\(repository):\(reference)", pushed: true))
        return subject != nil
    }

    /// A registry's refusal of a manifest it will not store (as opposed to a network failure).
    static func isRefusal(_ error: RegistryError) -> Bool {
        if case .status(_, _, let status, _) = error { return [400, 403, 404, 405, 409, 412, 415, 422].contains(status) }
        if case .denied = error { return true }
        return false
    }

    /// Every target repository must take pushes before the first upload: all missing ones are
    /// named in one line (ECR, Quay, Harbor and GitLab create none on push), and nothing is sent.
    private func checkRepositories(_ plans: [ImagePlan], client: RegistryClient, target: PushTarget) async throws {
        var wanted = Set(plans.map(\.repository))
        if options.recordImport { wanted.insert(ImportLedger.repository(target: target, explicit: options.ledger)) }
        let repositories = wanted.sorted()
        let missing = MissingList()
        try await forEach(repositories, jobs: options.transport.jobs) { repository in
            if try await !client.repositoryAcceptsPushes(repository) { await missing.add(repository) }
        }
        let names = await missing.sorted
        guard names.isEmpty else {
            // The ledger's repository is created like the others, or left out with --no-ledger.
            let ledger = ImportLedger.repository(target: target, explicit: options.ledger)
            let note =
                options.recordImport && names.contains(ledger) ? "\(ledger) is the import ledger: --no-ledger to push without it" : ""
            throw RegistryError.missingRepositories(host: client.host, names: names, note: note)
        }
    }

    /// The referrers tag schema (`<repo>:sha256-<subject hex>`, an index of the referrers) that
    /// the OCI distribution spec asks clients to keep where the registry has no referrers API:
    /// without it, `cosign verify`, `oras discover` and admission policies find nothing.
    private func maintainReferrersTags(_ plans: [ImagePlan], client: RegistryClient, tally: PushTally) async throws {
        let groups = Dictionary(grouping: plans) { "\($0.repository)|\($0.subject ?? "")" }
        for key in groups.keys.sorted() {
            let members = groups[key]!
            let repository = members[0].repository
            guard let tag = members[0].subject.flatMap({ try? Digest($0) })?.referrersTag else { continue }
            var manifests: [[String: Any]] = []
            if let existing = try await client.fetchManifestIfPresent(repository, reference: tag),
                let object = try? JSONSerialization.jsonObject(with: Data(existing.bytes)) as? [String: Any]
            {
                manifests = object["manifests"] as? [[String: Any]] ?? []
            }
            var changed = false
            for plan in members where !manifests.contains(where: { $0["digest"] as? String == plan.root.digest.description }) {
                manifests.append(plan.referrerDescriptor())
                changed = true
            }
            guard changed else { continue }
            let index: [String: Any] = ["schemaVersion": 2, "mediaType": MediaType.ociIndex, "manifests": manifests]
            let bytes = Array(try JSONSerialization.data(withJSONObject: index, options: [.sortedKeys, .withoutEscapingSlashes]))
            let digest = Digest.sha256(of: bytes).description
            try await client.putManifest(repository, reference: tag, mediaType: MediaType.ociIndex, bytes: bytes, digest: digest)
            await tally.manifest(pushed: true)
            progress(.manifest(reference: "\(repository):\(tag)", pushed: true))
        }
    }
}

/// Repositories found missing, collected from concurrent checks.
actor MissingList {
    private var names: [String] = []
    func add(_ name: String) { names.append(name) }
    var sorted: [String] { names.sorted() }
}
