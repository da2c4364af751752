import Foundation
import OCI
import Signing

/// Whether each image a bundle carries was signed by its vendor with cosign — and, when asked
/// (`--require-attestation TYPE`), attested with an in-toto statement of that type — checked offline
/// against the vendor's cosign public keys (`--cosign-key`), from what the bundle carries
/// (`referrers: true`: cosign's `sha256-<hex>.sig` and `.att` tags, or OCI 1.1 referrers).
///
/// Forms read. cosign 2's signature: a manifest whose layers are simple-signing payloads
/// (`application/vnd.dev.cosign.simplesigning.v1+json`), each with its ECDSA P-256 / SHA-256 (or
/// Ed25519) signature over the payload's bytes, base64 DER, in the
/// `dev.cosignproject.cosign/signature` annotation; the payload is of type `cosign container image
/// signature` and names the image's digest. cosign 2's attestation: a layer that is a DSSE envelope
/// (`application/vnd.dsse.envelope.v1+json`). cosign 3's signature or attestation: an OCI 1.1
/// referrer whose layer is a Sigstore bundle (`application/vnd.dev.sigstore.bundle.v0.3+json`)
/// holding a DSSE envelope. A DSSE envelope counts when its signature over the pre-authentication
/// encoding verifies with a key and its payload is an in-toto statement of the wanted type
/// (`https://sigstore.dev/cosign/sign/v1` for a cosign 3 signature) whose subject is the image's
/// digest. A keyless signature (a Fulcio certificate instead of a key: cosign 2's certificate,
/// chain, bundle and timestamp annotations, or a Sigstore bundle's verification material) counts
/// under a ``KeylessPolicy`` (`--cosign-identity`, `--cosign-oidc-issuer`, `--trusted-root`),
/// checked offline by ``KeylessVerifier``. The digest
/// may also be, for a platform subset, that of the source index it was taken from: the subset
/// itself is then the bundle signer's word. Every byte is read through the source, so it is checked
/// against the bundle's signed digests first.
public struct ImageSignatureCheck: Sendable, Codable, Equatable {
    public var image: String
    public var digest: String
    /// The predicate type of the attestation checked; nil for the image's signature.
    public var attestation: String?
    public var verified: Bool
    /// The key that verified it (airlock's key id: sha256 of the public key's DER).
    public var keyID: String?
    /// For a keyless signature: the certificate's identity and OIDC issuer.
    public var identity: String?
    /// The digest the signature names, when it verified.
    public var signedDigest: String?
    /// Why it did not verify.
    public var problem: String?

    static let signatureAnnotation = "dev.cosignproject.cosign/signature"
    static let signatureType = "cosign container image signature"
    static let signPredicateType = "https://sigstore.dev/cosign/sign/v1"

    /// One result per image in the statement (its signature, then each attestation asked for), in order.
    static func check(_ source: any PushSource, trust: CosignTrust, attestations: [String] = []) async throws -> [ImageSignatureCheck] {
        var results: [ImageSignatureCheck] = []
        for image in source.statement.predicate.images {
            for attestation in [nil] + attestations.map(Optional.some) {
                results.append(try await check(image, attestation: attestation, in: source, trust: trust))
            }
        }
        return results
    }

    private static func check(
        _ image: BundlePredicate.Image,
        attestation: String?,
        in source: any PushSource,
        trust: CosignTrust
    ) async throws -> ImageSignatureCheck {
        var result = ImageSignatureCheck(image: image.name, digest: image.digest.description, attestation: attestation, verified: false)
        let accepted = Set([image.digest] + (image.sourceDigest.map { [$0] } ?? []))
        var problems: [String] = []
        var candidates = 0
        for referrer in image.referrers ?? [] where referrer.mediaType.isManifest && accepted.contains(referrer.subject) {
            let bytes = try await source.bytes(of: BundleFormat.blobEntry(referrer.digest))
            guard let manifest = try? ContentDocument(bytes: bytes, declaredType: referrer.mediaType) else { continue }
            for layer in manifest.layers {
                let outcome: Result<(Signer, String), Problem>
                let annotations = layer.annotations ?? [:]
                if layer.mediaType.isSigstoreBundle || layer.mediaType == .dsseEnvelope {
                    guard let blob = await read(layer, from: source, problems: &problems) else { candidates += 1; continue }
                    let envelope = layer.mediaType == .dsseEnvelope ? decodeEnvelope(blob) : decodeBundleEnvelope(blob)
                    let material = layer.mediaType == .dsseEnvelope ? Self.material(annotations: annotations) : Self.material(bundle: blob)
                    outcome = checkEnvelope(
                        envelope,
                        material: material,
                        trust: trust,
                        accepted: accepted,
                        predicateType: attestation ?? signPredicateType
                    )
                } else if layer.mediaType == .cosignSimpleSigning, attestation == nil {
                    guard let blob = await read(layer, from: source, problems: &problems) else { candidates += 1; continue }
                    outcome = checkSimpleSigning(
                        blob,
                        annotation: annotations[signatureAnnotation],
                        material: Self.material(annotations: annotations),
                        trust: trust,
                        accepted: accepted
                    )
                } else {
                    continue
                }
                switch outcome {
                case .success(let (signer, digest)):
                    (result.verified, result.keyID, result.identity, result.signedDigest) = (true, signer.keyID, signer.identity, digest)
                    return result
                case .failure(let problem) where !problem.otherType:
                    candidates += 1
                    problems.append(problem.text)
                case .failure:
                    continue  // an attestation of another type, or a signature when an attestation is wanted
                }
            }
        }
        let what = attestation.map { "attestation of type \($0)" } ?? "cosign signature"
        if candidates == 0 {
            result.problem =
                """
                no \(what) travels with it (pack it with referrers: true from a registry where it is \
                \(attestation == nil ? "signed" : "attested"))
                """
        } else {
            result.problem =
                "none of its \(candidates) \(what)(s) verifies with the given key(s) or identities: "
                + Array(Set(problems)).sorted().joined(separator: "; ")
        }
        return result
    }

    struct Problem: Error {
        let text: String
        /// Not what was looked for (another predicate type), rather than a failed check.
        var otherType = false
    }

    struct Envelope: Decodable {
        struct Signature: Decodable { var sig: String }
        var payload: String
        var payloadType: String
        var signatures: [Signature]
    }

    private static func read(_ layer: Descriptor, from source: any PushSource, problems: inout [String]) async -> [UInt8]? {
        do {
            return try await source.bytes(of: BundleFormat.blobEntry(layer.digest))
        } catch {
            problems.append("\(layer.digest) cannot be read: \(error)")
            return nil
        }
    }

    private static func decodeEnvelope(_ bytes: [UInt8]) -> Result<Envelope, Problem> {
        guard let envelope = try? JSONDecoder().decode(Envelope.self, from: Data(bytes)) else {
            return .failure(Problem(text: "a DSSE envelope that does not parse"))
        }
        return .success(envelope)
    }

    /// The DSSE envelope in a Sigstore bundle.
    private static func decodeBundleEnvelope(_ bytes: [UInt8]) -> Result<Envelope, Problem> {
        guard let bundle = try? JSONDecoder().decode(SigstoreBundle<Envelope>.self, from: Data(bytes)) else {
            return .failure(Problem(text: "a Sigstore bundle that does not parse"))
        }
        guard let envelope = bundle.dsseEnvelope else {
            return .failure(Problem(text: "a Sigstore bundle without a DSSE envelope (a message signature names no image)"))
        }
        return .success(envelope)
    }

    /// A DSSE envelope verified with one of the keys, whose in-toto statement is of `predicateType`
    /// and names one of the accepted digests: the key id and digest, or why not.
    private static func checkEnvelope(
        _ decoded: Result<Envelope, Problem>,
        material: KeylessMaterial?,
        trust: CosignTrust,
        accepted: Set<Digest>,
        predicateType: String
    ) -> Result<(Signer, String), Problem> {
        struct Statement: Decodable {
            struct Subject: Decodable { var digest: [String: String] }
            var predicateType: String
            var subject: [Subject]
        }
        let envelope: Envelope
        switch decoded {
        case .success(let value): envelope = value
        case .failure(let problem): return .failure(problem)
        }
        guard envelope.payloadType == DSSEEnvelope.inTotoPayloadType, let payload = Data(base64Encoded: envelope.payload),
            let statement = try? JSONDecoder().decode(Statement.self, from: payload)
        else {
            return .failure(Problem(text: "a DSSE envelope that holds no in-toto statement"))
        }
        // Which statement this is can be read before it is trusted: only a match is verified.
        guard statement.predicateType == predicateType else { return .failure(Problem(text: statement.predicateType, otherType: true)) }
        let message = DSSEEnvelope.preAuthenticationEncoding(payloadType: envelope.payloadType, payload: Array(payload))
        let signatures = envelope.signatures.compactMap { Data(base64Encoded: $0.sig).map(Array.init) }
        let signer: Signer
        switch Signer.find(signatures: signatures, message: message, material: material, trust: trust) {
        case .success(let found): signer = found
        case .failure(let problem): return .failure(problem)
        }
        let signed = sha256Subjects(statement.subject.map(\.digest))
        guard let digest = signed.first(where: accepted.contains) else {
            return .failure(Problem(text: "one by \(signer.label) over \(signed.first?.description ?? "no digest"), not this image"))
        }
        return .success((signer, digest.description))
    }

    /// A cosign 2 signature: the simple-signing payload and its annotation's signature.
    private static func checkSimpleSigning(
        _ payload: [UInt8],
        annotation: String?,
        material: KeylessMaterial?,
        trust: CosignTrust,
        accepted: Set<Digest>
    ) -> Result<(Signer, String), Problem> {
        struct Payload: Decodable {
            struct Critical: Decodable {
                struct Image: Decodable {
                    let digest: String
                    enum CodingKeys: String, CodingKey { case digest = "docker-manifest-digest" }
                }
                let image: Image
                let type: String
            }
            let critical: Critical
        }
        guard let annotation, let signature = Data(base64Encoded: annotation) else {
            return .failure(Problem(text: "a signature payload without a readable \(signatureAnnotation) annotation"))
        }
        let signer: Signer
        switch Signer.find(signatures: [Array(signature)], message: payload, material: material, trust: trust) {
        case .success(let found): signer = found
        case .failure(let problem): return .failure(problem)
        }
        guard let decoded = try? JSONDecoder().decode(Payload.self, from: Data(payload)), decoded.critical.type == signatureType,
            let digest = try? Digest(decoded.critical.image.digest), accepted.contains(digest)
        else {
            let over = (try? JSONDecoder().decode(Payload.self, from: Data(payload)))?.critical.image.digest ?? "an unreadable payload"
            return .failure(Problem(text: "one by \(signer.label) over \(over), not this image"))
        }
        return .success((signer, decoded.critical.image.digest))
    }
}

extension ImageSignatureCheck {
    /// Adds the check of every image to the report of a bundle (or unpacked folder) that verified;
    /// an image that fails fails the report, naming it.
    public static func check(
        _ report: inout VerificationReport,
        policy: SignaturePolicy,
        trust: CosignTrust,
        attestations: [String] = []
    ) async throws {
        guard report.verified else { return }
        let results = try await check(try openPushSource(report.bundle, policy: policy), trust: trust, attestations: attestations)
        report.imageSignatures = results
        if let failure = failure(results) {
            report.verified = false
            report.failure = failure
        }
    }

    /// Checks every image of `source` and throws a verification failure naming the first that
    /// fails, followed by `consequence` (`nothing was pushed`); the results when all passed.
    static func require(
        _ source: any PushSource,
        trust: CosignTrust,
        attestations: [String],
        consequence: String
    ) async throws -> [ImageSignatureCheck] {
        let results = try await check(source, trust: trust, attestations: attestations)
        if let failure = failure(results) { throw PushError.signatures(failure: failure, consequence: consequence) }
        return results
    }

    /// One line naming the first image that failed, or nil when all passed.
    static func failure(_ results: [ImageSignatureCheck]) -> String? {
        guard let failed = results.first(where: { !$0.verified }) else { return nil }
        let others = results.filter { !$0.verified }.count - 1
        return "image \(failed.image): \(failed.problem ?? "not verified")" + (others > 0 ? " (and \(others) more failed check(s))" : "")
    }
}
