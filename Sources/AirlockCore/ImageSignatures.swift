import Foundation
import OCI
import Signing

/// Whether each image a bundle carries was signed by its vendor with cosign, checked offline
/// against the vendor's cosign public keys (`--cosign-key`), from the signatures the bundle carries
/// (`referrers: true`: cosign's `sha256-<hex>.sig` tag, or an OCI 1.1 referrer).
///
/// Two forms are read. cosign 2's: a manifest whose layers are simple-signing payloads
/// (`application/vnd.dev.cosign.simplesigning.v1+json`), each with its ECDSA P-256 / SHA-256 (or
/// Ed25519) signature over the payload's bytes, base64 DER, in the
/// `dev.cosignproject.cosign/signature` annotation; the payload is of type `cosign container image
/// signature` and names the image's digest. cosign 3's: an OCI 1.1 referrer whose layer is a
/// Sigstore bundle (`application/vnd.dev.sigstore.bundle.v0.3+json`) holding a DSSE envelope, its
/// signature over the envelope's pre-authentication encoding, its payload an in-toto statement of
/// type `https://sigstore.dev/cosign/sign/v1` whose subject is the image's digest. (Offline there
/// is no transparency log to ask: the bundle's log entries are not checked, only the signature.)
/// An image passes when one signature verifies with one of the keys and names the image's digest
/// (or, for a platform subset, the digest of the source index it was taken from: the subset itself
/// is then the bundle signer's word). Every byte is read through the source, so it is checked
/// against the bundle's signed digests first.
public struct ImageSignatureCheck: Sendable, Codable, Equatable {
    public var image: String
    public var digest: String
    public var verified: Bool
    /// The key that verified it (airlock's key id: sha256 of the public key's DER).
    public var keyID: String?
    /// The digest the signature names, when it verified.
    public var signedDigest: String?
    /// Why it did not verify.
    public var problem: String?

    static let payloadType = "application/vnd.dev.cosign.simplesigning.v1+json"
    static let signatureAnnotation = "dev.cosignproject.cosign/signature"
    static let signatureType = "cosign container image signature"
    static let sigstoreBundlePrefix = "application/vnd.dev.sigstore.bundle"
    static let signPredicateType = "https://sigstore.dev/cosign/sign/v1"

    /// One result per image in the statement, in its order.
    static func check(_ source: any PushSource, keys: [PublicKey]) async throws -> [ImageSignatureCheck] {
        var results: [ImageSignatureCheck] = []
        for image in source.statement.predicate.images {
            results.append(try await check(image, in: source, keys: keys))
        }
        return results
    }

    private static func check(_ image: BundlePredicate.Image, in source: any PushSource, keys: [PublicKey]) async throws -> ImageSignatureCheck {
        var result = ImageSignatureCheck(image: image.name, digest: image.digest, verified: false)
        let accepted = Set([image.digest] + (image.sourceDigest.map { [$0] } ?? []))
        var problems: [String] = []
        var payloads = 0
        for referrer in image.referrers ?? [] where MediaType.manifests.contains(referrer.mediaType) && accepted.contains(referrer.subject) {
            let bytes = try await source.bytes(of: BundleFormat.blobEntry(referrer.digest))
            guard let manifest = try? ContentDocument(bytes: bytes, declaredType: referrer.mediaType) else { continue }
            for layer in manifest.layers where layer.mediaType.hasPrefix(sigstoreBundlePrefix) {
                payloads += 1
                let bundle: [UInt8]
                do {
                    bundle = try await source.bytes(of: BundleFormat.blobEntry(layer.digest.description))
                } catch {
                    problems.append("its Sigstore bundle \(layer.digest) cannot be read: \(error)")
                    continue
                }
                switch checkSigstoreBundle(bundle, keys: keys, accepted: accepted) {
                case .success(let (keyID, digest)):
                    result.verified = true
                    result.keyID = keyID
                    result.signedDigest = digest
                    return result
                case .failure(let problem):
                    problems.append(problem.text)
                }
            }
            for layer in manifest.layers where layer.mediaType == payloadType {
                payloads += 1
                guard let encoded = layer.annotations?[signatureAnnotation], let signature = Data(base64Encoded: encoded) else {
                    problems.append("a signature payload without a readable \(signatureAnnotation) annotation")
                    continue
                }
                let payload: [UInt8]
                do {
                    payload = try await source.bytes(of: BundleFormat.blobEntry(layer.digest.description))
                } catch {
                    problems.append("its payload \(layer.digest) cannot be read: \(error)")
                    continue
                }
                guard let key = keys.first(where: { $0.isValidSignature(Array(signature), for: payload) }) else {
                    problems.append("a cosign signature that no given key verifies")
                    continue
                }
                let signed = signedDigest(payload)
                guard let signed, accepted.contains(signed.digest), signed.type == signatureType else {
                    problems.append("a signature by key \(key.keyID.prefix(12))… over \(signed?.digest ?? "an unreadable payload"), not this image")
                    continue
                }
                result.verified = true
                result.keyID = key.keyID
                result.signedDigest = signed.digest
                return result
            }
        }
        if payloads == 0 {
            result.problem = "no cosign signature travels with it (pack it with referrers: true from a registry where it is signed)"
        } else {
            result.problem = "none of its \(payloads) cosign signature(s) verifies with the given key(s): " + Array(Set(problems)).sorted().joined(separator: "; ")
        }
        return result
    }

    struct Problem: Error { let text: String }

    /// A cosign 3 signature: the Sigstore bundle's DSSE envelope, verified with one of the keys,
    /// whose in-toto statement signs one of the accepted digests; the key id and digest, or why not.
    private static func checkSigstoreBundle(_ bytes: [UInt8], keys: [PublicKey], accepted: Set<String>) -> Result<(String, String), Problem> {
        struct Bundle: Decodable {
            struct Envelope: Decodable {
                struct Signature: Decodable { var sig: String }
                var payload: String
                var payloadType: String
                var signatures: [Signature]
            }
            var dsseEnvelope: Envelope?
        }
        struct SignStatement: Decodable {
            struct Subject: Decodable { var digest: [String: String] }
            var predicateType: String
            var subject: [Subject]
        }
        guard let bundle = try? JSONDecoder().decode(Bundle.self, from: Data(bytes)) else { return .failure(Problem(text: "a Sigstore bundle that does not parse")) }
        guard let envelope = bundle.dsseEnvelope, let payload = Data(base64Encoded: envelope.payload) else {
            return .failure(Problem(text: "a Sigstore bundle without a DSSE envelope (a message signature names no image)"))
        }
        guard envelope.payloadType == DSSEEnvelope.inTotoPayloadType else {
            return .failure(Problem(text: "a Sigstore bundle whose envelope holds \(envelope.payloadType), not an in-toto statement"))
        }
        let message = DSSEEnvelope.preAuthenticationEncoding(payloadType: envelope.payloadType, payload: Array(payload))
        let signatures = envelope.signatures.compactMap { Data(base64Encoded: $0.sig).map(Array.init) }
        guard let key = keys.first(where: { key in signatures.contains { key.isValidSignature($0, for: message) } }) else {
            return .failure(Problem(text: "a cosign signature that no given key verifies"))
        }
        guard let statement = try? JSONDecoder().decode(SignStatement.self, from: payload), statement.predicateType == signPredicateType else {
            return .failure(Problem(text: "a signature by key \(key.keyID.prefix(12))… over something other than a cosign image signature statement"))
        }
        let signed = statement.subject.compactMap { $0.digest["sha256"].map { "sha256:" + $0 } }
        guard let digest = signed.first(where: accepted.contains) else {
            return .failure(Problem(text: "a signature by key \(key.keyID.prefix(12))… over \(signed.first ?? "no digest"), not this image"))
        }
        return .success((key.keyID, digest))
    }

    /// `critical.image.docker-manifest-digest` and `critical.type` of a simple-signing payload.
    private static func signedDigest(_ payload: [UInt8]) -> (digest: String, type: String)? {
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
        guard let decoded = try? JSONDecoder().decode(Payload.self, from: Data(payload)) else { return nil }
        return (decoded.critical.image.digest, decoded.critical.type)
    }
}

extension ImageSignatureCheck {
    /// Adds the check of every image to the report of a bundle (or unpacked folder) that verified;
    /// an image that fails fails the report, naming it.
    public static func check(_ report: inout VerificationReport, policy: SignaturePolicy, keys: [PublicKey]) async throws {
        guard report.verified else { return }
        let results = try await check(try openPushSource(report.bundle, policy: policy), keys: keys)
        report.imageSignatures = results
        if let failure = failure(results) {
            report.verified = false
            report.failure = failure
        }
    }

    /// One line naming the first image that failed, or nil when all passed.
    static func failure(_ results: [ImageSignatureCheck]) -> String? {
        guard let failed = results.first(where: { !$0.verified }) else { return nil }
        let others = results.filter { !$0.verified }.count - 1
        return "image \(failed.image): \(failed.problem ?? "not verified")" + (others > 0 ? " (and \(others) more image(s))" : "")
    }
}
