import BundleIO
import Endpoints
import Foundation
import Signing

/// The endpoints `airlock preflight` checks: from a bundle (read through the seek index and
/// verified against the signed statement), an unpacked bundle folder, a folder of ModelEndpoint
/// files, or one such file.
public enum PreflightInput {
    public static func targets(path: String, policy: () throws -> SignaturePolicy, only names: [String]) throws -> [PreflightTarget] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) || BundleFile.existsAsParts(path) else {
            throw PreflightInputError.noSuchPath(path)
        }
        var loaded: [(ModelEndpoint, [UInt8]?)]
        if isDirectory.boolValue {
            let folder = FileManager.default.fileExists(atPath: "\(path)/endpoints") ? "\(path)/endpoints" : path
            let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }
                .sorted()
            loaded = try files.compactMap { file in
                let full = "\(folder)/\(file)"
                guard let text = FileManager.default.contents(atPath: full),
                    String(decoding: text, as: UTF8.self).contains("kind: ModelEndpoint")
                else { return nil }
                return try ModelEndpoint.load(path: full)
            }
        } else if path.hasSuffix(".yaml") || path.hasSuffix(".yml") {
            loaded = [try ModelEndpoint.load(path: path)]
        } else {
            loaded = try fromBundle(path, policy: try policy())
        }
        guard !loaded.isEmpty else { throw PreflightInputError.noEndpoints(path: path) }
        if !names.isEmpty {
            let known = Set(loaded.map(\.0.name))
            if let unknown = names.first(where: { !known.contains($0) }) {
                throw PreflightInputError.noSuchEndpoint(name: unknown, path: path, known: known.sorted())
            }
            loaded = loaded.filter { names.contains($0.0.name) }
        }
        return loaded.map { PreflightTarget(endpoint: $0.0, caPEM: $0.1) }
    }

    /// Extracts each endpoint config and CA file (verified) into a temporary folder and reads them.
    private static func fromBundle(_ path: String, policy: SignaturePolicy) throws -> [(ModelEndpoint, [UInt8]?)] {
        let access = try BundleRandomAccess(path: path, policy: policy)
        let folder = NSTemporaryDirectory() + "airlock-preflight-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: "\(folder)/endpoints", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        return try access.statement.predicate.endpoints.map { endpoint in
            for entry in [endpoint.path] + (endpoint.caFile.map { [$0] } ?? []) {
                let destination = "\(folder)/\(try EntryPath(entry).value)"
                try FileManager.default.createDirectory(
                    atPath: URL(fileURLWithPath: destination).deletingLastPathComponent().path,
                    withIntermediateDirectories: true
                )
                try access.extract(entry, to: destination)
            }
            return try ModelEndpoint.load(path: "\(folder)/\(endpoint.path)")
        }
    }
}
