import Foundation
import OCI
import Registry
import Signing

extension DeliveryAttestation {
    /// A delivery attestation found beside an image in a registry, whose signature verified.
    struct Found: Sendable {
        var predicate: Predicate
        var keyID: String
    }

    /// Looks beside `digest` in `repository` for a delivery attestation that verifies with the
    /// trusted keys (or a certificate under a trusted root) and names `digest`: cosign 2's
    /// `sha256-<hex>.att` manifest first, then the Sigstore bundle referrers (the referrers API, or
    /// else the referrers tag schema's index). Nil when there is none.
    static func find(
        digest subject: Digest,
        repository: RepositoryName,
        client: RegistryClient,
        policy: SignaturePolicy
    ) async throws -> Found? {
        let tag = subject.referrersTag
        if let att = try await client.fetchManifestIfPresent(repository, reference: .tag("\(tag).att")),
            let manifest = try? ContentDocument(bytes: att.bytes, declaredType: MediaType.ociManifest)
        {
            for layer in manifest.layers where layer.mediaType == .dsseEnvelope {
                let bytes = try await client.fetchSmallBlob(repository, digest: layer.digest)
                if let found = verified(try? JSONDecoder().decode(DSSEEnvelope.self, from: Data(bytes)), subject: subject, policy: policy) {
                    return found
                }
            }
        }
        var index = try await client.fetchReferrers(repository, digest: subject)
        if index == nil {
            index = try await client.fetchManifestIfPresent(repository, reference: .tag(tag))?.bytes
        }
        let listed = index.flatMap { try? ContentDocument(bytes: $0, declaredType: MediaType.ociIndex).manifests } ?? []
        for descriptor in listed where descriptor.artifactType == .sigstoreBundle {
            let fetched = try await client.fetchManifest(repository, reference: .digest(descriptor.digest))
            guard let manifest = try? ContentDocument(bytes: fetched.bytes, declaredType: MediaType.ociManifest) else { continue }
            for layer in manifest.layers where layer.mediaType == .sigstoreBundle {
                let bytes = try await client.fetchSmallBlob(repository, digest: layer.digest)
                let envelope = (try? JSONDecoder().decode(SigstoreBundle<DSSEEnvelope>.self, from: Data(bytes)))?.dsseEnvelope
                if let found = verified(envelope, subject: subject, policy: policy) { return found }
            }
        }
        return nil
    }

    /// The envelope's predicate when a trusted key signed it and it is a delivery attestation
    /// about `subject`.
    private static func verified(_ envelope: DSSEEnvelope?, subject: Digest, policy: SignaturePolicy) -> Found? {
        guard let envelope, envelope.payloadType == DSSEEnvelope.inTotoPayloadType else { return nil }
        let (keys, roots) = policy.trust
        guard let check = try? envelope.check(trustedKeys: keys, roots: roots, at: Int64(Date().timeIntervalSince1970)), check.isTrusted,
            let payload = try? envelope.payloadBytes(),
            let statement = try? JSONDecoder().decode(Statement.self, from: Data(payload)),
            statement.predicateType == predicateType,
            sha256Subjects(statement.subject.map(\.digest)).contains(subject)
        else { return nil }
        return Found(predicate: statement.predicate, keyID: check.verifiedKeyIDs.first ?? "?")
    }
}

extension SignaturePolicy {
    /// The keys and certificate roots a signature may verify with.
    var trust: (keys: [PublicKey], roots: CertificateRoots?) {
        switch self {
        case .trusted(let keys, let certificates), .allowUnsigned(let keys, let certificates): (keys, certificates?.roots)
        case .ignore: ([], nil)
        }
    }
}
