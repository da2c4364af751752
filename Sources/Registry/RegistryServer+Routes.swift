import Foundation
import NIOCore
import NIOHTTP1
import OCI

/// What a request path of the distribution API asks for.
enum ServerRoute: Equatable {
    /// `/healthz`: alive, for probes (no authentication).
    case health
    case base
    case catalog
    case tags(String)
    case referrers(String, digest: String)
    case manifest(String, reference: String)
    case blob(String, digest: String)
    case unknown

    init(path: String) {
        if path == "/healthz" {
            self = .health
        } else if path == "/v2" || path == "/v2/" {
            self = .base
        } else if path == "/v2/_catalog" {
            self = .catalog
        } else if !path.hasPrefix("/v2/") {
            self = .unknown
        } else {
            let rest = String(path.dropFirst(4))
            if rest.hasSuffix("/tags/list") {
                self = .tags(String(rest.dropLast("/tags/list".count)))
            } else if let split = rest.range(of: "/referrers/", options: .backwards) {
                self = .referrers(String(rest[..<split.lowerBound]), digest: String(rest[split.upperBound...]))
            } else if let split = rest.range(of: "/manifests/", options: .backwards) {
                self = .manifest(String(rest[..<split.lowerBound]), reference: String(rest[split.upperBound...]))
            } else if let split = rest.range(of: "/blobs/", options: .backwards) {
                self = .blob(String(rest[..<split.lowerBound]), digest: String(rest[split.upperBound...]))
            } else {
                self = .unknown
            }
        }
    }
}

/// The answer to each route: tags and referrers listed, manifests and blobs served.
extension RegistryServer {
    func answerTags(_ repository: String, _ request: HTTPRequestHead, _ out: Outbound) async throws {
        guard let name = try? RepositoryName(repository), let tags = content.tags(of: name) else {
            try await error(404, "NAME_UNKNOWN", "repository \(repository) is not in this bundle", request, out)
            return
        }
        guard let (names, link) = try await page(tags, request, out) else { return }
        struct TagList: Encodable {
            let name: String
            let tags: [String]
        }
        try await send(200, body: encode(TagList(name: repository, tags: names)), type: "application/json", headers: link, request, out)
    }

    func answerReferrers(_ repository: String, of digest: String, _ request: HTTPRequestHead, _ out: Outbound) async throws {
        guard let name = try? RepositoryName(repository), content.tags(of: name) != nil else {
            try await error(404, "NAME_UNKNOWN", "repository \(repository) is not in this bundle", request, out)
            return
        }
        // Nothing refers to what is no digest: an empty list, as for a subject nothing refers to.
        let all = (try? Digest(digest)).flatMap { content.referrers(name, of: $0) } ?? []
        // The API's one filter: `artifactType`, said in a header when applied.
        var headers = HTTPHeaders()
        var listed = all
        if let wanted = URLComponents(string: request.uri)?.queryItems?.first(where: { $0.name == "artifactType" })?.value {
            listed = all.filter { $0.artifactType?.rawValue == wanted }
            headers.add(name: "OCI-Filters-Applied", value: "artifactType")
        }
        struct Index: Encodable {
            let schemaVersion = 2
            let mediaType = MediaType.ociIndex
            let manifests: [ServedReferrer]
        }
        try await send(
            200,
            body: encode(Index(manifests: listed)),
            type: MediaType.ociIndex.rawValue,
            headers: headers,
            request,
            out
        )
    }

    func answerManifest(_ repository: String, reference: String, _ request: HTTPRequestHead, _ out: Outbound) async throws {
        let name = try? RepositoryName(repository)
        guard let name, let wanted = try? ManifestReference(reference), let manifest = content.manifest(name, reference: wanted) else {
            let code = name.flatMap(content.tags(of:)) == nil ? "NAME_UNKNOWN" : "MANIFEST_UNKNOWN"
            try await error(404, code, "\(repository):\(reference) is not in this bundle", request, out)
            return
        }
        var headers = HTTPHeaders()
        headers.add(name: "Docker-Content-Digest", value: manifest.digest.description)
        try await send(200, body: manifest.bytes, type: manifest.mediaType.rawValue, headers: headers, request, out)
    }

    func answerBlob(_ repository: String, digest: String, _ request: HTTPRequestHead, _ out: Outbound) async throws {
        let name = try? RepositoryName(repository)
        guard let name, let blob = try? Digest(digest), let size = content.blobSize(name, digest: blob) else {
            let code = name.flatMap(content.tags(of:)) == nil ? "NAME_UNKNOWN" : "BLOB_UNKNOWN"
            try await error(404, code, "blob \(digest) of \(repository) is not in this bundle", request, out)
            return
        }
        try await sendBlob(name, digest: blob, size: size, body: request.method == .GET, request, out)
    }
}
