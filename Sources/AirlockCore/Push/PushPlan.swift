import Foundation
import OCI
import Registry

/// What a push will do, decided from HEAD requests before anything is sent: for every blob and
/// every repository that needs it, whether it is there, is mounted from another repository or is
/// uploaded; for every manifest, what its reference points at now. `push` executes it;
/// `push --dry-run` reports it. One plan, so the two cannot disagree.
struct PushPlan: Sendable {
    enum BlobStep: Sendable, Equatable {
        case present
        /// Mounted from a repository that has it (or will, once an earlier step uploaded it).
        case mount(from: RepositoryName)
        case upload
    }

    struct Placement: Sendable {
        let repository: RepositoryName
        let step: BlobStep
    }

    struct BlobPlan: Sendable {
        let work: BlobWork
        let placements: [Placement]
        /// A layer a delta bundle leaves out: never uploaded, only found or mounted.
        let leftOut: Bool
    }

    /// One manifest to put under `reference`, and what the reference points at now.
    struct ManifestStep: Sendable {
        let plan: ImagePlan
        let reference: String
        let descriptor: Descriptor
        let bytes: [UInt8]
        let current: Digest?

        var present: Bool { current == descriptor.digest }
    }

    var blobs: [BlobPlan]
    /// Per image or chart (in plan order): its child manifests, deepest first.
    var children: [[ManifestStep]]
    /// The tagged (or, for referrers, digest-named) root of every image and chart, in plan order.
    var roots: [ManifestStep]

    /// The report of a dry run: what each blob and manifest would need, and each tag's change.
    func report(registry: String, host: String, unsigned: Bool) async -> PushReport {
        let tally = PushTally()
        for blob in blobs {
            for placement in blob.placements {
                switch placement.step {
                case .present: await tally.count(.present, bytes: 0)
                case .mount: await tally.count(.mounted, bytes: 0)
                case .upload: await tally.count(.uploaded, bytes: blob.work.size)
                }
            }
        }
        for step in children.flatMap({ $0 }) + roots { await tally.manifest(pushed: !step.present) }
        for step in roots where step.plan.tag != nil {
            await tally.tag(
                .init(
                    reference: "\(host)/\(step.plan.repository):\(step.reference)",
                    digest: step.descriptor.digest.description,
                    current: step.current?.description
                )
            )
        }
        var report = await tally.report(
            registry: registry,
            mappings: roots.map { $0.plan.mapping(host: host) },
            files: [],
            unsigned: unsigned
        )
        report.dryRun = true
        return report
    }
}

extension Pusher {
    /// Decides every step of the push with HEAD requests only. A delta bundle's left-out layer
    /// that is in none of the repositories (nor mountable from a repository of this push, or the
    /// one its inventory listed) is refused here, before anything is sent.
    func makePlan(_ plans: [ImagePlan], source: any PushSource, client: RegistryClient) async throws -> PushPlan {
        let work = BlobWork.group(plans)
        let leftOut = source.missingLeftOut()
        let repositories = Array(Set(plans.map(\.repository))).sorted()
        let blobs = PlanList<PushPlan.BlobPlan>()
        try await forEach(work, jobs: options.transport.jobs) { work in
            if let base = source.statement.predicate.base, leftOut[work.digest] != nil {
                await blobs.add(try await self.placeLeftOut(work, base: base, candidates: repositories, client: client))
            } else {
                await blobs.add(try await self.place(work, client: client))
            }
        }
        let children = PlanList<(Int, [PushPlan.ManifestStep])>()
        let roots = PlanList<(Int, PushPlan.ManifestStep)>()
        try await forEach(Array(plans.enumerated()), jobs: options.transport.jobs) { index, plan in
            var steps: [PushPlan.ManifestStep] = []
            for child in plan.children {
                steps.append(
                    try await self.step(plan, reference: child.descriptor.digest.description, child.descriptor, child.bytes, client: client)
                )
            }
            await children.add((index, steps))
            await roots.add(
                (
                    index,
                    try await self.step(
                        plan,
                        reference: plan.tag ?? plan.root.digest.description,
                        plan.root,
                        plan.rootBytes,
                        client: client
                    )
                )
            )
        }
        // Blobs largest first, as grouped; manifests in plan order.
        let order = Dictionary(uniqueKeysWithValues: work.enumerated().map { ($1.digest, $0) })
        return PushPlan(
            blobs: await blobs.items.sorted { (order[$0.work.digest] ?? 0) < (order[$1.work.digest] ?? 0) },
            children: await children.items.sorted { $0.0 < $1.0 }.map(\.1),
            roots: await roots.items.sorted { $0.0 < $1.0 }.map(\.1)
        )
    }

    private func step(
        _ plan: ImagePlan,
        reference: String,
        _ descriptor: Descriptor,
        _ bytes: [UInt8],
        client: RegistryClient
    ) async throws -> PushPlan.ManifestStep {
        let current = try await client.manifestDigest(
            plan.repository,
            reference: try ManifestReference(reference),
            accept: [descriptor.mediaType]
        )
        return PushPlan.ManifestStep(plan: plan, reference: reference, descriptor: descriptor, bytes: bytes, current: current)
    }

    /// One blob into every repository that needs it: present → skip; sent to another repository
    /// of this push first → mount from there; otherwise upload it from the bundle.
    private func place(_ work: BlobWork, client: RegistryClient) async throws -> PushPlan.BlobPlan {
        var home: RepositoryName?
        var placements: [PushPlan.Placement] = []
        for repository in work.repositories {
            if try await isPresent(work.digest, in: repository, client: client) {
                placements.append(.init(repository: repository, step: .present))
                home = home ?? repository
            } else if let home {
                placements.append(.init(repository: repository, step: .mount(from: home)))
            } else {
                placements.append(.init(repository: repository, step: .upload))
                home = repository
            }
        }
        return PushPlan.BlobPlan(work: work, placements: placements, leftOut: false)
    }

    /// A layer a delta bundle leaves out: present in each repository that needs it, or mounted
    /// there from a repository of this push that has it (where the earlier bundle's images went)
    /// or from the repository the inventory it was packed against listed it in.
    private func placeLeftOut(
        _ work: BlobWork,
        base: BundlePredicate.Base,
        candidates: [RepositoryName],
        client: RegistryClient
    ) async throws -> PushPlan.BlobPlan {
        let listed = try base.blobs.first { $0.digest == work.digest }?.repository.map { try RepositoryName($0) }
        let candidates = candidates + (listed.map { [$0] } ?? [])
        var home: RepositoryName?
        var placements: [PushPlan.Placement] = []
        for repository in work.repositories {
            if try await client.blobExists(repository, digest: work.digest) {
                placements.append(.init(repository: repository, step: .present))
                home = home ?? repository
                continue
            }
            if home == nil {
                for candidate in candidates where candidate != repository {
                    if try await client.blobExists(candidate, digest: work.digest) {
                        home = candidate
                        break
                    }
                }
            }
            guard let home else { throw leftOutMissing(work, base: base) }
            placements.append(.init(repository: repository, step: .mount(from: home)))
        }
        return PushPlan.BlobPlan(work: work, placements: placements, leftOut: true)
    }
}

extension Pusher {
    /// A left-out layer the target registry cannot provide.
    func leftOutMissing(_ work: BlobWork, base: BundlePredicate.Base) -> DeltaError {
        let listed = base.blobs.first { $0.digest == work.digest }?.repository
        return .notInRegistry(owner: work.owner, digest: work.digest.description, base: base, listedIn: listed, target: options.target)
    }
}

/// Results gathered from concurrent planning steps.
actor PlanList<Item: Sendable> {
    private(set) var items: [Item] = []
    func add(_ item: Item) { items.append(item) }
}
