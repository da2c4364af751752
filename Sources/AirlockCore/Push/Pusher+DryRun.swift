import Foundation
import Hashing
import OCI
import Registry
import Signing

/// `push --dry-run`: what a push would do, from HEAD requests only; nothing is sent.
extension Pusher {
    /// What ``run(_:source:client:target:firstRepository:)`` would do, from the registry's answers
    /// to HEAD requests alone: each blob present, to mount or to upload; each manifest present or
    /// to push; each tag new, unchanged or moved. A delta's left-out layers are checked as a push
    /// checks them (and a missing one refused the same way). Nothing is sent or written.
    func plan(
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
}
