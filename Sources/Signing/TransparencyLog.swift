internal import COpenSSL
import Foundation
import Hashing

/// A Rekor entry checked offline: its signed entry timestamp (the log's signature over the
/// entry's canonical JSON: body, integrated time, log id, index), that the entry is about this
/// very signature, and, when carried, its inclusion proof (RFC 9162) against a checkpoint the log
/// signed (a signed note).
enum TransparencyLog {
    /// The integrated time, once everything carried checks out.
    static func verify(_ entry: KeylessMaterial.LogEntry, signature: [UInt8], root: TrustedRoot) throws -> Int64 {
        guard let log = root.logs.first(where: { $0.id == entry.logID }) else {
            throw KeylessFailure(
                "its Rekor entry is from a log the trusted root does not list (log id \(hexString(entry.logID).prefix(16))…)"
            )
        }
        guard log.validFor.contains(entry.integratedTime) else {
            throw KeylessFailure("its Rekor entry was integrated when the log's key was not valid")
        }
        guard let set = entry.signedEntryTimestamp else {
            throw KeylessFailure("its Rekor entry carries no signed entry timestamp")
        }
        let payload =
            "{\"body\":\"\(Data(entry.body).base64EncodedString())\",\"integratedTime\":\(entry.integratedTime),"
            + "\"logID\":\"\(hexString(entry.logID))\",\"logIndex\":\(entry.logIndex)}"
        guard log.key.isValidSignature(set, for: Array(payload.utf8)) else {
            throw KeylessFailure("the Rekor signed entry timestamp does not verify with the log's key")
        }
        try checkBody(entry.body, names: signature)
        if let proof = entry.inclusionProof { try verify(proof, body: entry.body, key: log.key) }
        return entry.integratedTime
    }

    /// The entry must name the signature it vouches for (hashedrekord's `signature.content`, or
    /// one of a dsse entry's `signatures[].signature`), or its timestamp proves nothing about it.
    static func checkBody(_ body: [UInt8], names signature: [UInt8]) throws {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) else {
            throw KeylessFailure("its Rekor entry's body is not JSON")
        }
        let wanted = Data(signature).base64EncodedString()
        var strings: [String] = []
        func collect(_ value: Any) {
            if let text = value as? String { strings.append(text) }
            if let map = value as? [String: Any] { map.values.forEach(collect) }
            if let list = value as? [Any] { list.forEach(collect) }
        }
        collect(object)
        guard strings.contains(wanted) else { throw KeylessFailure("its Rekor entry is about another signature") }
    }

    /// RFC 9162 §2.1.3.2: the audit path from the entry's leaf hash leads to the checkpoint's root.
    static func verify(_ proof: KeylessMaterial.InclusionProof, body: [UInt8], key: PublicKey) throws {
        guard proof.logIndex >= 0, proof.logIndex < proof.treeSize else {
            throw KeylessFailure("its inclusion proof's index is outside the tree")
        }
        var index = proof.logIndex
        var last = proof.treeSize - 1
        var hash = SHA256Hasher.digest([0] + body)
        for sibling in proof.hashes {
            guard last != 0 else { throw KeylessFailure("its inclusion proof is longer than the tree is deep") }
            if index & 1 == 1 || index == last {
                hash = SHA256Hasher.digest([1] + sibling + hash)
                if index & 1 == 0 {
                    while index & 1 == 0 && index != 0 {
                        index >>= 1
                        last >>= 1
                    }
                }
            } else {
                hash = SHA256Hasher.digest([1] + hash + sibling)
            }
            index >>= 1
            last >>= 1
        }
        guard last == 0, hash == proof.rootHash else { throw KeylessFailure("its inclusion proof does not lead to the root hash it names") }
        try verifyCheckpoint(proof.checkpoint, size: proof.treeSize, root: proof.rootHash, key: key)
    }

    /// A signed note: `origin`, tree size, base64 root hash (and optional lines), a blank line,
    /// then `— NAME base64(4-byte key hint || signature)` lines; one must verify with the log's key
    /// over the text before the blank line.
    static func verifyCheckpoint(_ note: String, size: Int64, root: [UInt8], key: PublicKey) throws {
        guard let split = note.range(of: "\n\n") else { throw KeylessFailure("its checkpoint is not a signed note") }
        let text = String(note[..<split.lowerBound]) + "\n"
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count >= 3, Int64(lines[1]) == size, Data(base64Encoded: String(lines[2])).map(Array.init) == root else {
            throw KeylessFailure("its checkpoint does not commit to the proof's tree size and root hash")
        }
        let signatures = note[split.upperBound...].split(separator: "\n").compactMap { line -> [UInt8]? in
            guard line.hasPrefix("\u{2014} "), let encoded = line.split(separator: " ").last,
                let data = Data(base64Encoded: String(encoded)),
                data.count > 4
            else { return nil }
            return Array(data.dropFirst(4))
        }
        guard signatures.contains(where: { key.isValidSignature($0, for: Array(text.utf8)) }) else {
            throw KeylessFailure("its checkpoint is not signed by the log's key")
        }
    }
}

/// RFC 3161 timestamps (a timestamp authority's signed statement that the signature existed at
/// `genTime`), verified with OpenSSL's TS functions against the trusted root's TSAs.
enum Timestamp {
    static func verify(_ der: [UInt8], over signature: [UInt8], root: TrustedRoot) throws -> Int64 {
        let response: OpaquePointer? = try withReadBIO(der) { d2i_TS_RESP_bio($0, nil) }
        guard let response else {
            _ = takeOpenSSLError()
            throw KeylessFailure("its RFC 3161 timestamp does not parse")
        }
        defer { TS_RESP_free(response) }
        guard let info = TS_RESP_get_tst_info(response) else { throw KeylessFailure("its RFC 3161 timestamp holds no token") }
        let time = Int64(airlock_asn1_time_seconds(TS_TST_INFO_get_time(info)))
        guard time > 0 else { throw KeylessFailure("its RFC 3161 timestamp has no readable time") }
        var reasons: [String] = []
        for authority in root.timestampAuthorities where authority.validFor.contains(time) {
            if let problem = check(response, signature: signature, authority: authority, at: time) {
                reasons.append(problem)
            } else {
                return time
            }
        }
        if reasons.isEmpty { throw KeylessFailure("no timestamp authority of the trusted root was valid at the timestamp's time") }
        throw KeylessFailure("its RFC 3161 timestamp does not verify with the trusted root's timestamp authorities: \(reasons[0])")
    }

    private static func check(_ response: OpaquePointer, signature: [UInt8], authority: TrustedRoot.Authority, at time: Int64) -> String? {
        guard let context = TS_VERIFY_CTX_new(), let store = X509_STORE_new(), let certificates = airlock_sk_x509_new() else {
            return "out of memory"
        }
        defer { TS_VERIFY_CTX_free(context) }  // frees the store, the stack and the data BIO with it
        _ = TS_VERIFY_CTX_set_store(context, store)
        X509_STORE_set_flags(store, UInt(X509_V_FLAG_PARTIAL_CHAIN))
        X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(store), time_t(time))
        for certificate in authority.certificates {
            X509_STORE_add_cert(store, certificate.pointer)
            X509_up_ref(certificate.pointer)
            _ = airlock_sk_x509_push(certificates, certificate.pointer)
        }
        _ = TS_VERIFY_CTX_set_certs(context, certificates)
        let data = signature.withUnsafeBytes { BIO_new_mem_buf($0.baseAddress, Int32($0.count)) }
        // The BIO reads from `signature`'s storage: it is used before this function returns.
        _ = TS_VERIFY_CTX_set_data(context, data)
        // TS_VFY_SIGNATURE | TS_VFY_VERSION | TS_VFY_DATA (macros Swift cannot read).
        _ = TS_VERIFY_CTX_set_flags(context, 0x1 | 0x2 | 0x10)
        let verified = withExtendedLifetime(signature) { TS_RESP_verify_response(context, response) }
        if verified == 1 { return nil }
        return takeOpenSSLError()
    }
}
