import Foundation
import Signing

/// Whose cosign signatures count: the vendors' public keys (`--cosign-key`), and signers by
/// identity under a Sigstore trusted root (`--cosign-identity` with `--cosign-oidc-issuer` and
/// `--trusted-root`).
public struct CosignTrust: Sendable {
    public var keys: [PublicKey]
    public var keyless: KeylessPolicy?

    public init(keys: [PublicKey] = [], keyless: KeylessPolicy? = nil) {
        self.keys = keys
        self.keyless = keyless
    }

    /// Nothing to require: image signatures are not checked.
    public var isEmpty: Bool { keys.isEmpty && keyless == nil }
}

extension ImageSignatureCheck {
    /// Who made a signature: one of the given keys, or a keyless identity.
    struct Signer {
        var keyID: String?
        var identity: String?

        var label: String { keyID.map { "key \($0.prefix(12))…" } ?? identity ?? "?" }

        /// The first of `signatures` over `message` that a key of `trust` verifies, else that
        /// the keyless policy accepts with the certificate, log entry and timestamps carried.
        static func find(
            signatures: [[UInt8]],
            message: [UInt8],
            material: KeylessMaterial?,
            trust: CosignTrust
        ) -> Result<Signer, Problem> {
            if let key = trust.keys.first(where: { key in signatures.contains { key.isValidSignature($0, for: message) } }) {
                return .success(Signer(keyID: key.keyID, identity: nil))
            }
            guard let material, !material.certificates.isEmpty else {
                return .failure(Problem(text: "one that no given key verifies"))
            }
            guard let policy = trust.keyless else {
                return .failure(
                    Problem(text: "a keyless one (check it with --cosign-identity, --cosign-oidc-issuer and --trusted-root)")
                )
            }
            var reasons: [String] = []
            for signature in signatures {
                switch KeylessVerifier.verify(signature: signature, message: message, material: material, policy: policy) {
                case .success(let verified): return .success(Signer(keyID: nil, identity: "\(verified.identity) (\(verified.issuer))"))
                case .failure(let failure): reasons.append(failure.description)
                }
            }
            return .failure(Problem(text: "a keyless one refused: \(reasons.first ?? "no signature")"))
        }
    }

    /// cosign 2's keyless material, in the signature layer's annotations: the certificate and
    /// chain (PEM), Rekor's bundle (the entry and its signed entry timestamp), and an RFC 3161
    /// timestamp. Nil when there is no certificate.
    static func material(annotations: [String: String]) -> KeylessMaterial? {
        guard let certificate = annotations["dev.sigstore.cosign/certificate"] else { return nil }
        let certificates = pemCertificates(certificate) + pemCertificates(annotations["dev.sigstore.cosign/chain"] ?? "")
        var entry: KeylessMaterial.LogEntry?
        if let text = annotations["dev.sigstore.cosign/bundle"],
            let bundle = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any],
            let payload = bundle["Payload"] as? [String: Any],
            let body = (payload["body"] as? String).flatMap({ Data(base64Encoded: $0) }),
            let logID = (payload["logID"] as? String).flatMap(bytes(hex:))
        {
            entry = KeylessMaterial.LogEntry(
                logID: logID,
                logIndex: integer(payload["logIndex"]) ?? -1,
                integratedTime: integer(payload["integratedTime"]) ?? -1,
                body: Array(body),
                signedEntryTimestamp: (bundle["SignedEntryTimestamp"] as? String).flatMap { Data(base64Encoded: $0) }.map(Array.init)
            )
        }
        var timestamps: [[UInt8]] = []
        if let text = annotations["dev.sigstore.cosign/rfc3161timestamp"],
            let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any],
            let encoded = object["SignedRFC3161Timestamp"] as? String, let der = Data(base64Encoded: encoded)
        {
            timestamps.append(Array(der))
        }
        return KeylessMaterial(certificates: certificates, logEntry: entry, timestamps: timestamps)
    }

    /// A Sigstore bundle's verification material (v0.1 to v0.3): the certificate (or chain), the
    /// first transparency log entry with its promise and proof, the RFC 3161 timestamps.
    static func material(bundle bytes: [UInt8]) -> KeylessMaterial? {
        guard let bundle = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any],
            let material = bundle["verificationMaterial"] as? [String: Any]
        else { return nil }
        var certificates: [[UInt8]] = []
        if let certificate = material["certificate"] as? [String: Any], let raw = base64(certificate["rawBytes"]) {
            certificates = [raw]
        } else if let chain = material["x509CertificateChain"] as? [String: Any], let list = chain["certificates"] as? [[String: Any]] {
            certificates = list.compactMap { base64($0["rawBytes"]) }
        }
        guard !certificates.isEmpty else { return nil }
        var entry: KeylessMaterial.LogEntry?
        if let first = (material["tlogEntries"] as? [[String: Any]])?.first, let body = base64(first["canonicalizedBody"]),
            let logID = base64((first["logId"] as? [String: Any])?["keyId"])
        {
            var logEntry = KeylessMaterial.LogEntry(
                logID: logID,
                logIndex: integer(first["logIndex"]) ?? -1,
                integratedTime: integer(first["integratedTime"]) ?? -1,
                body: body,
                signedEntryTimestamp: base64((first["inclusionPromise"] as? [String: Any])?["signedEntryTimestamp"])
            )
            if let proof = first["inclusionProof"] as? [String: Any], let root = base64(proof["rootHash"]),
                let checkpoint = (proof["checkpoint"] as? [String: Any])?["envelope"] as? String
            {
                logEntry.inclusionProof = KeylessMaterial.InclusionProof(
                    logIndex: integer(proof["logIndex"]) ?? -1,
                    treeSize: integer(proof["treeSize"]) ?? 0,
                    rootHash: root,
                    hashes: ((proof["hashes"] as? [Any]) ?? []).compactMap(base64),
                    checkpoint: checkpoint
                )
            }
            entry = logEntry
        }
        let timestamps = (((material["timestampVerificationData"] as? [String: Any])?["rfc3161Timestamps"] as? [[String: Any]]) ?? [])
            .compactMap { base64($0["signedTimestamp"]) }
        return KeylessMaterial(certificates: certificates, logEntry: entry, timestamps: timestamps)
    }

    private static func base64(_ value: Any?) -> [UInt8]? {
        (value as? String).flatMap { Data(base64Encoded: $0) }.map(Array.init)
    }

    /// protobuf's JSON writes 64-bit integers as strings; older writers as numbers.
    private static func integer(_ value: Any?) -> Int64? {
        if let text = value as? String { return Int64(text) }
        return (value as? NSNumber)?.int64Value
    }

    private static func bytes(hex: String) -> [UInt8]? {
        var out: [UInt8] = []
        var characters = hex.makeIterator()
        while let high = characters.next() {
            guard let low = characters.next(), let byte = UInt8(String([high, low]), radix: 16) else { return nil }
            out.append(byte)
        }
        return out
    }

    /// The DER of each certificate in a PEM text.
    private static func pemCertificates(_ pem: String) -> [[UInt8]] {
        pem.components(separatedBy: "-----BEGIN CERTIFICATE-----").dropFirst().compactMap { block in
            guard let end = block.range(of: "-----END CERTIFICATE-----") else { return nil }
            let base64 = block[..<end.lowerBound].filter { !$0.isWhitespace }
            return Data(base64Encoded: String(base64)).map(Array.init)
        }
    }
}
