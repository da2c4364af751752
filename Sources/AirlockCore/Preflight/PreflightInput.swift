import BundleIO
import Endpoints
import Foundation
import Signing

/// What `airlock preflight` checks: the model endpoints and the Egress documents of a bundle
/// (read through the seek index and verified against the signed statement), of an unpacked
/// bundle folder, of a folder of such files, or of one file.
public enum PreflightInput {
    public struct Checks: Sendable {
        public var endpoints: [PreflightTarget]
        public var egress: [Egress]
    }

    public static func load(
        path: String,
        policy: () throws -> SignaturePolicy,
        only names: [String],
        extraEgress: [String] = []
    ) throws -> Checks {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) || BundleFile.existsAsParts(path) else {
            throw PreflightInputError.noSuchPath(path)
        }
        var loaded: [(ModelEndpoint, [UInt8]?)] = []
        var egress: [Egress] = []
        if isDirectory.boolValue {
            for folder in [path, "\(path)/endpoints", "\(path)/egress"] where FileManager.default.fileExists(atPath: folder) {
                for (file, kind) in try documents(in: folder) {
                    if kind == ModelEndpoint.kind { loaded.append(try ModelEndpoint.load(path: file)) }
                    if kind == Egress.kind { egress.append(try Egress.load(path: file)) }
                }
            }
        } else if path.hasSuffix(".yaml") || path.hasSuffix(".yml") {
            if kind(of: path) == Egress.kind {
                egress.append(try Egress.load(path: path))
            } else {
                loaded = [try ModelEndpoint.load(path: path)]
            }
        } else {
            (loaded, egress) = try fromBundle(path, policy: try policy())
        }
        egress += try extraEgress.map(Egress.load(path:))
        guard !loaded.isEmpty || !egress.isEmpty else { throw PreflightInputError.noEndpoints(path: path) }
        if !names.isEmpty {
            let known = Set(loaded.map(\.0.name))
            if let unknown = names.first(where: { !known.contains($0) }) {
                throw PreflightInputError.noSuchEndpoint(name: unknown, path: path, known: known.sorted())
            }
            loaded = loaded.filter { names.contains($0.0.name) }
        }
        return Checks(endpoints: loaded.map { PreflightTarget(endpoint: $0.0, caPEM: $0.1) }, egress: egress)
    }

    /// The YAML files of a folder with their `kind:`, sorted by name.
    private static func documents(in folder: String) throws -> [(String, String)] {
        try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
            .compactMap { file in kind(of: "\(folder)/\(file)").map { ("\(folder)/\(file)", $0) } }
    }

    /// The top-level `kind:` of a YAML file, read from its text.
    private static func kind(of path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where line.hasPrefix("kind:") {
            return line.dropFirst(5).trimmingCharacters(in: .whitespaces)
        }
        return nil
    }

    /// Extracts each endpoint config, Egress document and CA file (verified) into a temporary
    /// folder and reads them.
    private static func fromBundle(_ path: String, policy: SignaturePolicy) throws -> ([(ModelEndpoint, [UInt8]?)], [Egress]) {
        let access = try BundleRandomAccess(path: path, policy: policy)
        let folder = NSTemporaryDirectory() + "airlock-preflight-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        func extract(_ entry: String) throws -> String {
            let destination = "\(folder)/\(try EntryPath(entry).value)"
            try FileManager.default.createDirectory(
                atPath: URL(fileURLWithPath: destination).deletingLastPathComponent().path,
                withIntermediateDirectories: true
            )
            try access.extract(entry, to: destination)
            return destination
        }
        let predicate = access.statement.predicate
        let endpoints = try predicate.endpoints.map { endpoint in
            for entry in endpoint.caFile.map({ [$0] }) ?? [] { _ = try extract(entry) }
            return try ModelEndpoint.load(path: try extract(endpoint.path))
        }
        let egress = try (predicate.egress ?? []).map { document in
            // Its CA files sit beside it, named after the document.
            for subject in access.statement.subject
            where subject.name.hasPrefix("\(BundleFormat.egressPrefix)\(document.name).") && subject.name.hasSuffix(".ca.pem") {
                _ = try extract(subject.name)
            }
            return try Egress.load(path: try extract(document.path))
        }
        return (endpoints, egress)
    }
}
