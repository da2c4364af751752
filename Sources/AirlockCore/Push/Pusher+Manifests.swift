import Foundation
import Hashing
import OCI
import Registry
import Signing

/// Manifests and repositories: each manifest pushed unless present, refusals told apart from
/// failures, the target repositories checked first, the referrers tag schema kept.
extension Pusher {
    /// Puts one manifest unless the plan found it there already; true when the registry said it
    /// indexed the manifest's subject itself (`OCI-Subject`), so no referrers tag is needed.
    @discardableResult
    func put(_ step: PushPlan.ManifestStep, client: RegistryClient, tally: PushTally) async throws -> Bool {
        let name = "\(step.plan.repository):\(step.reference)"
        if step.present {
            await tally.manifest(pushed: false)
            progress(.manifest(reference: name, pushed: false))
            return false
        }
        let subject = try await client.putManifest(
            step.plan.repository,
            reference: try ManifestReference(step.reference),
            mediaType: step.descriptor.mediaType,
            bytes: step.bytes
        )
        await tally.manifest(pushed: true)
        progress(.manifest(reference: name, pushed: true))
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
    func checkRepositories(_ plans: [ImagePlan], client: RegistryClient, target: PushTarget) async throws {
        var wanted = Set(plans.map(\.repository))
        if options.recordImport { wanted.insert(try ImportLedger.repository(target: target, explicit: options.ledger)) }
        let repositories = wanted.sorted()
        let missing = MissingList()
        try await forEach(repositories, jobs: options.transport.jobs) { repository in
            if try await !client.repositoryAcceptsPushes(repository) { await missing.add(repository.path) }
        }
        let names = await missing.sorted
        guard names.isEmpty else {
            // The ledger's repository is created like the others, or left out with --no-ledger.
            let ledger = try ImportLedger.repository(target: target, explicit: options.ledger)
            let note =
                options.recordImport && names.contains(ledger.path) ? "\(ledger) is the import ledger: --no-ledger to push without it" : ""
            throw RegistryError.missingRepositories(host: client.host, names: names, note: note)
        }
    }

    /// The referrers tag schema (`<repo>:sha256-<subject hex>`, an index of the referrers) that
    /// the OCI distribution spec asks clients to keep where the registry has no referrers API:
    /// without it, `cosign verify`, `oras discover` and admission policies find nothing.
    func maintainReferrersTags(_ plans: [ImagePlan], client: RegistryClient, tally: PushTally) async throws {
        let groups = Dictionary(grouping: plans) { "\($0.repository)|\($0.subject ?? "")" }
        for key in groups.keys.sorted() {
            let members = groups[key]!
            let repository = members[0].repository
            guard let tag = members[0].subject.flatMap({ try? Digest($0) })?.referrersTag else { continue }
            var manifests: [[String: Any]] = []
            if let existing = try await client.fetchManifestIfPresent(repository, reference: .tag(tag)),
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
            let index: [String: Any] = ["schemaVersion": 2, "mediaType": MediaType.ociIndex.rawValue, "manifests": manifests]
            let bytes = Array(try JSONSerialization.data(withJSONObject: index, options: [.sortedKeys, .withoutEscapingSlashes]))
            try await client.putManifest(repository, reference: .tag(tag), mediaType: MediaType.ociIndex, bytes: bytes)
            await tally.manifest(pushed: true)
            progress(.manifest(reference: "\(repository):\(tag)", pushed: true))
        }
    }
}
