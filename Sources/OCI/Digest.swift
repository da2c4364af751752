import Hashing

/// A content digest (`algorithm:encoded`), validated on creation.
public struct Digest: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public enum Algorithm: String, Sendable {
        case sha256, sha512

        var encodedLength: Int { self == .sha256 ? 64 : 128 }
    }

    public let algorithm: Algorithm
    /// Lowercase hex.
    public let encoded: String

    /// Parses `sha256:<hex>`; refuses anything else.
    public init(_ text: String) throws {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, let algorithm = Algorithm(rawValue: String(parts[0])) else {
            throw OCIError.invalidDigest(text)
        }
        let encoded = String(parts[1])
        guard encoded.utf8.count == algorithm.encodedLength, encoded.utf8.allSatisfy(isLowerHex) else {
            throw OCIError.invalidDigest(text)
        }
        self.algorithm = algorithm
        self.encoded = encoded
    }

    /// A sha256 digest from 64 lowercase hex characters.
    public init(sha256Hex hex: String) throws {
        try self.init("sha256:" + hex)
    }

    /// The sha256 digest of `bytes`.
    public static func sha256(of bytes: [UInt8]) -> Digest {
        Digest(trusted: .sha256, encoded: SHA256Hasher.hex(bytes))
    }

    private init(trusted algorithm: Algorithm, encoded: String) {
        self.algorithm = algorithm
        self.encoded = encoded
    }

    /// The digest a tag of the referrers tag schema (`sha256-<hex>`) names; nil for any other tag.
    public init?(referrersTag tag: some StringProtocol) {
        guard let dash = tag.firstIndex(of: "-"),
            let digest = try? Digest("\(tag[..<dash]):\(tag[tag.index(after: dash)...])")
        else { return nil }
        self = digest
    }

    /// Its tag in the referrers tag schema and cosign's tag scheme: `sha256-<hex>` (cosign adds
    /// `.sig`, `.att` or `.sbom`).
    public var referrersTag: String { "\(algorithm.rawValue)-\(encoded)" }

    public var description: String { "\(algorithm.rawValue):\(encoded)" }

    /// Twelve hex characters, for people.
    public var short: String { String(encoded.prefix(12)) }

    /// The path of this blob inside an OCI image layout: `blobs/<alg>/<hex>`.
    public var layoutPath: String { "blobs/\(algorithm.rawValue)/\(encoded)" }

    public static func < (lhs: Digest, rhs: Digest) -> Bool { lhs.description < rhs.description }

    public init(from decoder: any Decoder) throws {
        try self.init(try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

private func isLowerHex(_ byte: UInt8) -> Bool {
    (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66)
}
