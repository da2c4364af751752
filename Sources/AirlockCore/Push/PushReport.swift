import Foundation
import OCI
import Registry

/// What one push did.
public struct PushReport: Sendable, Codable {
    public struct Mapping: Sendable, Codable, Equatable {
        public var source: String
        public var target: String
        public var digest: String
        public var kind: LayoutKind
    }

    public struct Blobs: Sendable, Codable {
        public var uploaded = 0
        public var present = 0
        public var mounted = 0
        public var bytesSent: Int64 = 0
        /// Digests sent in full by this push, sorted.
        public var uploadedDigests: [String] = []
        /// Requests sent again after a transient failure (5xx, 429, broken connection).
        public var retried = 0
    }

    public var registry: String
    public var images: [Mapping]
    public var blobs: Blobs
    public var manifestsPushed: Int
    public var manifestsPresent: Int
    public var configFiles: [String]
    public var unsigned: Bool
    /// With `--cosign-key`: each image's cosign signature, checked before anything was sent.
    public var imageSignatures: [ImageSignatureCheck]?
    /// `--dry-run`: the counts are what a push would do; nothing was sent.
    public var dryRun: Bool?
    /// `--dry-run`: each tag a push would set, and what it points at now.
    public var tags: [TagChange]?

    /// Where this push recorded itself in the import ledger (`HOST/REPO:TAG`).
    public var ledger: String?
    /// Why the registry refused the import ledger's entry, when it did.
    public var ledgerRefused: String?

    /// Artifacts (signatures, attestations, SBOMs, other non-image manifests) the registry
    /// refused; everything else was pushed. The push exits 1 when there are any.
    public var refused: [Refusal]?

    public struct Refusal: Sendable, Codable, Equatable {
        public var reference: String
        public var artifactType: MediaType?
        public var reason: String
    }

    public struct TagChange: Sendable, Codable, Equatable {
        public var reference: String
        public var digest: String
        /// What the tag points at now (nil: it does not exist yet).
        public var current: String?
        public var change: Change

        public enum Change: String, Sendable, Codable {
            /// The tag does not exist yet.
            case new
            /// It already points at this digest.
            case unchanged
            /// It points at another digest, which the push would replace.
            case moved
        }

        init(reference: String, digest: String, current: String?) {
            self.reference = reference
            self.digest = digest
            self.current = current
            self.change = current == nil ? .new : current == digest ? .unchanged : .moved
        }
    }
}

actor PushTally {
    private var blobs = PushReport.Blobs()
    private var pushed = 0
    private var present = 0

    func count(_ outcome: BlobOutcome, bytes: Int64) {
        switch outcome {
        case .present: blobs.present += 1
        case .mounted: blobs.mounted += 1
        case .uploaded:
            blobs.uploaded += 1
            blobs.bytesSent += bytes
        }
    }

    func uploaded(_ digest: String) {
        blobs.uploadedDigests.append(digest)
        blobs.uploadedDigests.sort()
    }

    func manifest(pushed: Bool) {
        if pushed { self.pushed += 1 } else { present += 1 }
    }

    private var tags: [PushReport.TagChange] = []
    private var refusals: [PushReport.Refusal] = []
    private var toIndex: [ImagePlan] = []

    func tag(_ change: PushReport.TagChange) { tags.append(change) }
    func refused(_ refusal: PushReport.Refusal) { refusals.append(refusal) }
    func refusedReferences() -> [String] { refusals.map(\.reference) }
    func needsReferrersTag(_ plan: ImagePlan) { toIndex.append(plan) }
    func referrersToIndex() -> [ImagePlan] { toIndex }

    func report(registry: String, mappings: [PushReport.Mapping], files: [String], unsigned: Bool) -> PushReport {
        PushReport(
            registry: registry,
            images: mappings,
            blobs: blobs,
            manifestsPushed: pushed,
            manifestsPresent: present,
            configFiles: files,
            unsigned: unsigned,
            tags: tags.isEmpty ? nil : tags.sorted { $0.reference < $1.reference },
            refused: refusals.isEmpty ? nil : refusals.sorted { $0.reference < $1.reference }
        )
    }
}
