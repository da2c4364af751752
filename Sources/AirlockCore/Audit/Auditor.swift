import Foundation
import Hashing
import OCI
import Registry

/// The auditor's question, months later: did what runs come from a bundle signed by a trusted
/// key? What runs is every tag of a registry (walked as `airlock inventory` walks it) or a list of
/// image digests (the pods' `imageID`s); the answer for each is the signed bundles whose statement
/// carries that manifest, or none. The bundles may be kept as their detached envelopes alone: the
/// statement signs every manifest's digest.
public struct AuditReport: Sendable, Encodable {
    public struct Bundle: Sendable, Codable {
        public var path: String
        public var name: String
        public var version: String
        public var created: String
    }

    public struct Finding: Sendable, Codable {
        /// `repository:tag` in the registry, or the reference as listed.
        public var reference: String
        public var digest: String
        /// Whether a signed bundle carries this manifest.
        public var signed: Bool
        /// `platform 1.4.2` for each bundle that carries it.
        public var bundles: [String]
        /// What it is there: `image NAME`, `chart NAME VERSION`, `referrer of NAME`, or a manifest
        /// inside an image (a platform's).
        public var what: String?
        /// For a registry tag that is not signed: what the bundles carried under that name (the tag
        /// was moved, or the image came by another path under a name they use).
        public var signedAs: [SignedAs]?
    }

    public struct SignedAs: Sendable, Codable, Equatable {
        public var bundle: String
        public var name: String
        public var digest: String
    }

    public var bundles: [Bundle]
    /// The registry audited, when one was.
    public var registry: String?
    public var findings: [Finding]
    public var signed: Int { findings.filter(\.signed).count }
    public var unsigned: Int { findings.count - signed }

    enum CodingKeys: String, CodingKey { case bundles, registry, findings, signedCount, unsignedCount }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(bundles, forKey: .bundles)
        try container.encodeIfPresent(registry, forKey: .registry)
        try container.encode(findings, forKey: .findings)
        try container.encode(signed, forKey: .signedCount)
        try container.encode(unsigned, forKey: .unsignedCount)
    }
}

public enum Auditor {
    /// Checks each bundle's signature by `policy` (a bundle, its parts, or its `.intoto.json`),
    /// then looks up every tag of `registry` (when given) and every digest of `images`.
    /// An image found neither in the bundles nor in the ledger may still carry a delivery
    /// attestation (`pack --attest`) beside it in its registry, reached with `transport`.
    public static func audit(
        bundles paths: [String],
        policy: SignaturePolicy,
        registry: RegistryInventory.Options?,
        images: [ListedImage],
        transport: TransportOptions = TransportOptions()
    ) async throws -> AuditReport {
        var statements = try paths.map { try SignedStatement.load($0, policy: policy) }
        if paths.isEmpty {
            // No bundles named: the registry's own import ledger says what was delivered; for
            // running images alone, the delivery attestations beside them do.
            if let registry {
                statements = try await ledgerStatements(registry, policy: policy)
            } else if images.isEmpty || !images.contains(where: { $0.location != nil }) {
                throw AuditError.nothingToAuditAgainst
            }
        }
        let index = ManifestIndex(statements)
        var findings: [AuditReport.Finding] = []
        var audited: String?
        if let registry {
            let walked = try await RegistryInventory.walk(registry)
            let inventory = walked.inventory
            audited = inventory.registry
            // The import ledger holds the signed envelopes themselves, not content to trace.
            for repository in inventory.repositories
            where !(repository.name == "airlock/imports" || repository.name.hasSuffix("/airlock/imports")) {
                for (tag, digest) in repository.tags.sorted(by: { $0.key < $1.key }) {
                    findings.append(
                        index.finding("\(repository.name):\(tag)", digest: try Digest(digest), repository: repository.name, tag: tag)
                    )
                }
            }
            proveReferrersIndexes(&findings, listed: walked.referrersIndexes, index: index)
        }
        var running = images.map { index.finding($0.reference, digest: $0.digest) }
        try await proveByAttestation(&running, images: images, policy: policy, transport: transport)
        findings += running
        let bundles = statements.map {
            AuditReport.Bundle(
                path: $0.path,
                name: $0.statement.predicate.name,
                version: $0.statement.predicate.version,
                created: $0.statement.predicate.created
            )
        }
        return AuditReport(bundles: bundles, registry: audited, findings: findings)
    }

    /// A `sha256-<hex>` tag that no bundle carries may be the referrers tag schema's index, which
    /// push writes itself where the registry has no referrers API: it counts as signed when every
    /// manifest it lists is one the bundles carried.
    private static func proveReferrersIndexes(
        _ findings: inout [AuditReport.Finding],
        listed indexes: [String: [Digest]],
        index: ManifestIndex
    ) {
        for position in findings.indices where !findings[position].signed {
            let reference = findings[position].reference
            guard let listed = indexes[reference], let separator = reference.lastIndex(of: ":"),
                let subject = Digest(referrersTag: reference[reference.index(after: separator)...])
            else { continue }
            let bundles = listed.map { index.bundles(of: $0) }
            guard bundles.allSatisfy({ !$0.isEmpty }) else { continue }
            findings[position].signed = true
            findings[position].bundles = Array(Set(bundles.joined())).sorted()
            let role = index.role(of: subject) ?? subject.description
            findings[position].what = "the referrers index of \(role) (its \(listed.count) referrer(s) signed)"
            findings[position].signedAs = nil
        }
    }

    /// Each running image no bundle carries is looked up in its registry for a delivery
    /// attestation signed by a trusted key; one that verifies proves it came through that delivery.
    private static func proveByAttestation(
        _ findings: inout [AuditReport.Finding],
        images: [ListedImage],
        policy: SignaturePolicy,
        transport: TransportOptions
    ) async throws {
        let unproven = findings.indices.filter { !findings[$0].signed }.compactMap { index -> (Int, ImageReference)? in
            guard let location = images[index].location else { return nil }
            return (try? ImageReference("\(location)@\(images[index].digest)")).map { (index, $0) }
        }
        for (host, members) in Dictionary(grouping: unproven, by: { $0.1.registry }).sorted(by: { $0.key < $1.key }) {
            let client = try RegistryClient(host: host, options: transport)
            try await withShutdown(client.shutdown) {
                for (index, reference) in members {
                    guard
                        let found = try await DeliveryAttestation.find(
                            digest: images[index].digest,
                            repository: reference.repositoryName,
                            client: client,
                            policy: policy
                        )
                    else { continue }
                    let predicate = found.predicate
                    findings[index].signed = true
                    findings[index].bundles = ["\(predicate.bundle.name) \(predicate.bundle.version)"]
                    findings[index].what =
                        "\(predicate.kind.rawValue) \(predicate.name) (delivery attestation by key \(found.keyID.prefix(12))…)"
                }
            }
        }
    }

    /// One running image: how it is named, its digest, and where it was pulled from
    /// (`HOST/REPOSITORY`, when its image ID says).
    public struct ListedImage: Sendable {
        public var reference: String
        public var digest: Digest
        public var location: String?
    }

    /// Reads the images a cluster runs: `kubectl get pods -o json` (a List of Pods, or one Pod: each
    /// container's, init container's and ephemeral container's `imageID`, named
    /// `NAMESPACE/POD/CONTAINER (IMAGE)`), or a list, one image per line, each with a `sha256:`
    /// digest (`docker-pullable://host/repo@sha256:…`, `host/repo@sha256:…`, or the digest alone;
    /// `#` comments and blank lines skipped).
    /// The verified statements of the registry's import ledger (`PREFIX/airlock/imports`).
    static func ledgerStatements(_ options: RegistryInventory.Options, policy: SignaturePolicy) async throws -> [SignedStatement] {
        let target = try PushTarget(options.registry)
        let client = try RegistryClient(host: target.host, options: options.transport)
        let ledger = ImportLedger(client: client, repository: try ImportLedger.repository(target: target, explicit: nil), policy: policy)
        let entries = try await withShutdown(client.shutdown) { try await ledger.entries() }
        let verified = entries.compactMap { entry in
            entry.statement.map { SignedStatement(path: "\(target.host)/\(ledger.repository):\(entry.tag)", statement: $0) }
        }
        guard !verified.isEmpty else {
            throw AuditError.noVerifiedImports(registry: options.registry, ledger: ledger.repository.path)
        }
        return verified
    }

    public static func parseImages(_ text: String, source: String) throws -> [ListedImage] {
        guard text.drop(while: \.isWhitespace).first == "{" else { return try parseImageList(text, source: source) }
        return try parsePods(text, source: source)
    }

    private static func parsePods(_ text: String, source: String) throws -> [ListedImage] {
        struct Status: Decodable { var name: String?; var image: String?; var imageID: String? }
        struct Pod: Decodable {
            struct Metadata: Decodable { var name: String?; var namespace: String? }
            struct PodStatus: Decodable {
                var containerStatuses: [Status]?; var initContainerStatuses: [Status]?; var ephemeralContainerStatuses: [Status]?
            }
            var kind: String?
            var metadata: Metadata?
            var status: PodStatus?
            var items: [Pod]?
        }
        let document: Pod
        do { document = try JSONDecoder().decode(Pod.self, from: Data(text.utf8)) } catch {
            throw AuditError.notAPodList(source: source, detail: "\(error)")
        }
        let pods = document.items ?? [document]
        var images: [ListedImage] = []
        for pod in pods {
            let statuses =
                (pod.status?.initContainerStatuses ?? []) + (pod.status?.containerStatuses ?? [])
                + (pod.status?.ephemeralContainerStatuses ?? [])
            for status in statuses {
                let name =
                    "\(pod.metadata?.namespace ?? "default")/\(pod.metadata?.name ?? "?")/\(status.name ?? "?") (\(status.image ?? "?"))"
                guard let id = status.imageID, let range = id.range(of: "sha256:"),
                    let digest = try? Digest(String(id[range.lowerBound...].prefix(71)))
                else {
                    throw AuditError.noDigestYet(source: source, container: name, imageID: status.imageID ?? "")
                }
                images.append(ListedImage(reference: name, digest: digest, location: location(ofImageID: id)))
            }
        }
        return images
    }

    /// `HOST/REPOSITORY` of an image ID such as `docker-pullable://HOST/REPO@sha256:…`; nil for a
    /// bare digest.
    static func location(ofImageID id: String) -> String? {
        var text = Substring(id)
        if let scheme = text.range(of: "://") { text = text[scheme.upperBound...] }
        guard let at = text.firstIndex(of: "@") else { return nil }
        let location = String(text[..<at])
        return location.contains("/") ? location : nil
    }

    /// Reads a list of images, one per line (see ``parseImages(_:source:)``).
    static func parseImageList(_ text: String, source: String) throws -> [ListedImage] {
        var images: [ListedImage] = []
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if raw.trimmingCharacters(in: .whitespaces).hasPrefix("#") { continue }
            for token in raw.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," }) {
                guard let range = token.range(of: "sha256:"), token[range.upperBound...].count >= 64,
                    let digest = try? Digest(String(token[range.lowerBound...].prefix(71)))
                else {
                    throw AuditError.noDigest(source: source, line: number + 1, token: String(token))
                }
                var reference = String(token)
                if let scheme = reference.range(of: "://") { reference = String(reference[scheme.upperBound...]) }
                images.append(ListedImage(reference: reference, digest: digest, location: location(ofImageID: String(token))))
            }
        }
        return images
    }
}

/// Which signed bundles carry each manifest digest, and what it is in them.
struct ManifestIndex {
    private var carried: [Digest: [String]] = [:]
    private var roles: [Digest: String] = [:]
    /// Repository path → tag → what the bundles carried there (images by their name's path, charts
    /// under `charts/`, as push names them).
    private var named: [String: [String: [AuditReport.SignedAs]]] = [:]

    init(_ statements: [SignedStatement]) {
        for signed in statements {
            let predicate = signed.statement.predicate
            let title = "\(predicate.name) \(predicate.version)"
            for subject in signed.statement.subject {
                guard let digest = BundleFormat.blobDigest(entry: subject.name) else { continue }
                carried[digest, default: []].append(title)
            }
            for image in predicate.images {
                if let reference = try? ImageReference(image.name), let tag = reference.tag {
                    named[reference.repository, default: [:]][tag, default: []].append(
                        .init(bundle: title, name: image.name, digest: image.digest.description)
                    )
                }
                roles[image.digest] = roles[image.digest] ?? "image \(image.name)"
                for referrer in image.referrers ?? [] { roles[referrer.digest] = roles[referrer.digest] ?? "referrer of \(image.name)" }
            }
            for chart in predicate.charts {
                named["charts/\(chart.name)", default: [:]][chart.version, default: []].append(
                    .init(bundle: title, name: "chart \(chart.name) \(chart.version)", digest: chart.digest.description)
                )
                roles[chart.digest] = roles[chart.digest] ?? "chart \(chart.name) \(chart.version)"
                for referrer in chart.referrers ?? [] {
                    roles[referrer.digest] = roles[referrer.digest] ?? "referrer of chart \(chart.name) \(chart.version)"
                }
            }
        }
    }

    /// The bundles that carry `digest` (`NAME VERSION` each).
    func bundles(of digest: Digest) -> [String] { carried[digest] ?? [] }

    /// What `digest` is in the bundles that carry it.
    func role(of digest: Digest) -> String? { roles[digest] }

    func finding(_ reference: String, digest: Digest, repository: String? = nil, tag: String? = nil) -> AuditReport.Finding {
        let bundles = carried[digest] ?? []
        var finding = AuditReport.Finding(
            reference: reference,
            digest: digest.description,
            signed: !bundles.isEmpty,
            bundles: bundles,
            what: bundles.isEmpty ? nil : roles[digest] ?? "a manifest inside an image"
        )
        if bundles.isEmpty, let repository, let tag {
            // Under the prefix push put it: the repository ends with the name's path.
            let matches = named.filter { repository == $0.key || repository.hasSuffix("/" + $0.key) }.flatMap { $0.value[tag] ?? [] }
            if !matches.isEmpty { finding.signedAs = matches }
        }
        return finding
    }
}
