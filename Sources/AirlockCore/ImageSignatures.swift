import Foundation
import OCI
import Signing

/// Whether each image a bundle carries was signed by its vendor with cosign, checked offline
/// against the vendor's cosign public keys (`--cosign-key`), from the signatures the bundle carries
/// (`referrers: true`: cosign's `sha256-<hex>.sig` tag, or an OCI 1.1 referrer).
///
/// A cosign signature is a manifest whose layers are simple-signing payloads
/// (`application/vnd.dev.cosign.simplesigning.v1+json`), each with its ECDSA P-256 / SHA-256 (or
/// Ed25519) signature over the payload's bytes, base64 DER, in the
/// `dev.cosignproject.cosign/signature` annotation. An image passes when one payload verifies with
/// one of the keys, is of type `cosign container image signature`, and names the image's digest
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
