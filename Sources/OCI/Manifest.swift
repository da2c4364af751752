import Foundation

/// The parts of a manifest or index that matter for copying: what it references.
public struct ContentDocument: Sendable {
    /// `mediaType` from the document, if it has one (Helm manifests have none).
    public var mediaType: MediaType?
    public var schemaVersion: Int?
    public var config: Descriptor?
    public var layers: [Descriptor]
    public var manifests: [Descriptor]
    public var subject: Descriptor?
    /// The artifact's type (OCI 1.1), when the document declares one.
    public var artifactType: MediaType?
    public var annotations: [String: String]

    private struct Raw: Decodable {
        var mediaType: MediaType?
        var schemaVersion: Int?
        var config: Descriptor?
        var layers: [Descriptor]?
        var manifests: [Descriptor]?
        var subject: Descriptor?
        var artifactType: MediaType?
        var annotations: [String: String]?
        var fsLayers: [AnyCodable]?
    }

    private struct AnyCodable: Decodable {}

    /// Parses manifest or index bytes; `declaredType` is the type of the descriptor that pointed here.
    public init(bytes: [UInt8], declaredType: MediaType) throws {
        let raw: Raw
        do {
            raw = try JSONDecoder().decode(Raw.self, from: Data(bytes))
        } catch {
            throw OCIError.invalidDocument("\(declaredType) does not parse: \(Self.describe(error))")
        }
        if raw.fsLayers != nil || declaredType.isDockerSchema1 {
            throw OCIError.invalidDocument("Docker schema 1 manifests are not supported; re-push the image with a current client")
        }
        if let own = raw.mediaType, own != declaredType {
            throw OCIError.invalidDocument("document says mediaType \(own) but was referenced as \(declaredType)")
        }
        guard raw.schemaVersion == 2 else { throw OCIError.invalidDocument("schemaVersion must be 2") }
        mediaType = raw.mediaType
        schemaVersion = raw.schemaVersion
        config = raw.config
        layers = raw.layers ?? []
        manifests = raw.manifests ?? []
        subject = raw.subject
        artifactType = raw.artifactType
        annotations = raw.annotations ?? [:]
        if declaredType.isManifest && config == nil {
            throw OCIError.invalidDocument("manifest has no config")
        }
    }

    /// The type a manifest or index says of itself: its `mediaType`, else an index when it lists
    /// `manifests`, else an OCI manifest (Helm's chart manifests name no type). For a document
    /// whose type no descriptor or header gave.
    public static func ownType(of bytes: [UInt8]) -> MediaType {
        let object = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any]
        if let type = object?["mediaType"] as? String { return MediaType(type) }
        return object?["manifests"] != nil ? .ociIndex : .ociManifest
    }

    /// Every descriptor this document references as content it needs (not `subject`, a weak link).
    public var children: [Descriptor] {
        (config.map { [$0] } ?? []) + layers + manifests
    }

    private static func describe(_ error: any Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error { return context.debugDescription }
        if case DecodingError.typeMismatch(_, let context) = error {
            return "wrong type at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        }
        if case DecodingError.keyNotFound(let key, let context) = error {
            return "missing \((context.codingPath + [key]).map(\.stringValue).joined(separator: "."))"
        }
        return "\(error)"
    }
}

/// Serialises the small JSON documents airlock itself writes (indexes, generated manifests),
/// with a fixed key order so the bytes are reproducible.
public enum CanonicalJSON {
    public static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(value))
    }
}

/// An OCI image index as airlock writes it (`index.json` of a layout, or a generated index).
public struct ImageIndex: Codable, Sendable {
    public var schemaVersion = 2
    public var mediaType: MediaType? = MediaType.ociIndex
    public var manifests: [Descriptor]
    public var annotations: [String: String]?

    public init(manifests: [Descriptor], annotations: [String: String]? = nil) {
        self.manifests = manifests
        self.annotations = annotations
    }
}

/// An OCI image manifest as airlock writes it (for images built from a `docker save` archive, and charts).
public struct ImageManifest: Codable, Sendable {
    public var schemaVersion = 2
    public var mediaType: MediaType?
    public var artifactType: MediaType?
    public var config: Descriptor
    public var layers: [Descriptor]
    public var annotations: [String: String]?

    public init(mediaType: MediaType?, config: Descriptor, layers: [Descriptor], annotations: [String: String]? = nil) {
        self.mediaType = mediaType
        self.config = config
        self.layers = layers
        self.annotations = annotations
    }
}
