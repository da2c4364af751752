/// An OCI content descriptor. Unknown fields of the source document are not kept here: documents
/// are always stored as their original bytes, and these types are only read from them.
public struct Descriptor: Codable, Sendable, Hashable {
    public var mediaType: MediaType
    public var digest: Digest
    public var size: Int64
    public var annotations: [String: String]?
    public var platform: Platform?
    public var artifactType: MediaType?

    public init(
        mediaType: MediaType,
        digest: Digest,
        size: Int64,
        annotations: [String: String]? = nil,
        platform: Platform? = nil,
        artifactType: MediaType? = nil
    ) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.annotations = annotations
        self.platform = platform
        self.artifactType = artifactType
    }

    /// The annotation that names a tag in an OCI layout's `index.json`.
    public static let refNameAnnotation = "org.opencontainers.image.ref.name"

    public var refName: String? { annotations?[Self.refNameAnnotation] }
}

/// An OS/architecture pair, as in `linux/arm64/v8`.
public struct Platform: Codable, Sendable, Hashable, CustomStringConvertible {
    public var os: String
    public var architecture: String
    public var variant: String?
    public var osVersion: String?

    enum CodingKeys: String, CodingKey {
        case os, architecture, variant
        case osVersion = "os.version"
    }

    public init(os: String, architecture: String, variant: String? = nil) {
        self.os = os
        self.architecture = architecture
        self.variant = variant
    }

    /// Parses `os/arch[/variant]`.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard (2...3).contains(parts.count), parts.allSatisfy({ !$0.isEmpty }) else { throw OCIError.invalidPlatform(text) }
        self.init(os: parts[0], architecture: parts[1], variant: parts.count == 3 ? parts[2] : nil)
    }

    public var description: String { [os, architecture, variant].compactMap { $0 }.joined(separator: "/") }

    /// Whether this platform satisfies `wanted` (a missing variant in `wanted` matches any).
    public func satisfies(_ wanted: Platform) -> Bool {
        os == wanted.os && architecture == wanted.architecture && (wanted.variant == nil || wanted.variant == variant)
    }
}
