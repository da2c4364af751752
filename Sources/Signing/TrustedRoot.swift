internal import COpenSSL
import Foundation
import Hashing

/// Sigstore's `trusted_root.json` (the sigstore protobuf-specs' `TrustedRoot`, in its JSON form),
/// carried into the network by the site: the Fulcio certificate authorities, the Rekor logs' keys
/// and the timestamp authorities, each with the period it was valid for. airlock never fetches it
/// (no TUF): what the site carries in is what is trusted.
public struct TrustedRoot: Sendable {
    /// A certificate authority (Fulcio) or timestamp authority: its chain, DER, and validity.
    struct Authority: Sendable {
        let certificates: [CertificateHandle]
        let validFor: ClosedRange<Int64>
    }

    /// A transparency log (Rekor): its key, its id (sha256 of the key's DER), and validity.
    struct Log: Sendable {
        let id: [UInt8]
        let key: PublicKey
        let validFor: ClosedRange<Int64>
    }

    let certificateAuthorities: [Authority]
    let logs: [Log]
    let timestampAuthorities: [Authority]

    public init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SigningError.trustedRoot("\(path) does not exist or is not readable")
        }
        try self.init(json: Array(data), source: path)
    }

    init(json: [UInt8], source: String) throws {
        struct Period: Decodable {
            var start: String?
            var end: String?
        }
        struct RawBytes: Decodable { var rawBytes: String }
        struct Chain: Decodable { var certificates: [RawBytes] }
        struct CA: Decodable {
            var certChain: Chain
            var validFor: Period?
        }
        struct Key: Decodable {
            var rawBytes: String
            var validFor: Period?
        }
        struct LogID: Decodable { var keyId: String }
        struct TLog: Decodable {
            var publicKey: Key
            var logId: LogID
        }
        struct Root: Decodable {
            var mediaType: String?
            var tlogs: [TLog]?
            var certificateAuthorities: [CA]?
            var timestampAuthorities: [CA]?
        }
        let root: Root
        do { root = try JSONDecoder().decode(Root.self, from: Data(json)) } catch {
            throw SigningError.trustedRoot("\(source) is not a Sigstore trusted root (trusted_root.json): \(error)")
        }
        func bytes(_ base64: String, _ what: String) throws -> [UInt8] {
            guard let data = Data(base64Encoded: base64) else { throw SigningError.trustedRoot("\(source): \(what) is not base64") }
            return Array(data)
        }
        func period(_ period: Period?, _ what: String) throws -> ClosedRange<Int64> {
            func seconds(_ text: String?, default fallback: Int64) throws -> Int64 {
                guard let text else { return fallback }
                guard let value = parseTimestamp(text) else { throw SigningError.trustedRoot("\(source): \(what) has a bad time \(text)") }
                return value
            }
            let start = try seconds(period?.start, default: Int64.min)
            let end = try seconds(period?.end, default: Int64.max)
            guard start <= end else { throw SigningError.trustedRoot("\(source): \(what) ends before it starts") }
            return start...end
        }
        func authority(_ ca: CA, _ what: String) throws -> Authority {
            let certificates = try ca.certChain.certificates.map {
                try CertificateHandle(der: try bytes($0.rawBytes, what), source: source)
            }
            guard !certificates.isEmpty else { throw SigningError.trustedRoot("\(source): a \(what) with no certificate") }
            return Authority(certificates: certificates, validFor: try period(ca.validFor, what))
        }
        certificateAuthorities = try (root.certificateAuthorities ?? []).map { try authority($0, "certificate authority") }
        timestampAuthorities = try (root.timestampAuthorities ?? []).map { try authority($0, "timestamp authority") }
        logs = try (root.tlogs ?? []).map { log in
            let der = try bytes(log.publicKey.rawBytes, "a log's key")
            return Log(
                id: try bytes(log.logId.keyId, "a log id"),
                key: try PublicKey(der: der, source: "\(source): a log's key"),
                validFor: try period(log.publicKey.validFor, "a log's key")
            )
        }
        guard !certificateAuthorities.isEmpty else { throw SigningError.trustedRoot("\(source) lists no certificate authority") }
        guard !logs.isEmpty || !timestampAuthorities.isEmpty else {
            throw SigningError.trustedRoot("\(source) lists neither a transparency log nor a timestamp authority")
        }
    }
}

/// RFC 3339 with or without fractional seconds, as protobuf's JSON writes timestamps.
func parseTimestamp(_ text: String) -> Int64? {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    if let date = formatter.date(from: text) { return Int64(date.timeIntervalSince1970) }
    formatter.formatOptions = [.withInternetDateTime]
    return formatter.date(from: text).map { Int64($0.timeIntervalSince1970) }
}

extension CertificateHandle {
    convenience init(der: [UInt8], source: String) throws {
        let pointer: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            var cursor = buffer.baseAddress
            return d2i_X509(nil, &cursor, buffer.count)
        }
        guard let pointer else {
            throw SigningError.badCertificates("\(source): a certificate that does not parse (\(takeOpenSSLError()))")
        }
        self.init(takingOwnershipOf: pointer)
    }
}
