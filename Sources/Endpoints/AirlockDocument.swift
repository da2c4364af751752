import Foundation
import StrictYAML

/// One `apiVersion: airlock/v1` document of a kind (`Site`, `Egress`) read from a file: exactly one
/// document, the version and kind checked, its `metadata` and `spec` handed over.
public struct AirlockDocument {
    public let metadata: YAMLMapping
    public let spec: YAMLNode

    public init(path: String, kind: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InputError(file: path, line: nil, "no such file or not readable")
        }
        let documents = try parseDocuments(String(decoding: data, as: UTF8.self), file: path)
        guard documents.count == 1, let document = documents.first else {
            throw InputError(file: path, line: nil, "expected exactly one \(kind) document, found \(documents.count)")
        }
        let top = try document.mapping(allowed: ["apiVersion", "kind", "metadata", "spec"])
        guard try top.string("apiVersion") == ModelEndpoint.apiVersion else {
            throw top["apiVersion"]!.error("must be \(ModelEndpoint.apiVersion)")
        }
        guard try top.string("kind") == kind else { throw top["kind"]!.error("must be \(kind)") }
        guard let metadataNode = top["metadata"] else { throw document.error("missing required key \"metadata\"") }
        metadata = try metadataNode.mapping(allowed: ["name", "labels", "annotations"])
        guard let specNode = top["spec"] else { throw document.error("missing required key \"spec\"") }
        spec = specNode
    }
}
