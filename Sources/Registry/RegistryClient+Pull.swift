import AsyncHTTPClient
import Foundation
import Hashing
import NIOCore
import NIOHTTP1
import NIOSSL
import OCI

/// A manifest as the registry served it: exact bytes, media type, and the digest of those bytes.
public struct FetchedManifest: Sendable {
    public let bytes: [UInt8]
    /// The answer's `Content-Type`; nil when the registry did not say.
    public let mediaType: MediaType?
    public let digest: Digest

    public init(bytes: [UInt8], mediaType: MediaType?, digest: Digest) {
        self.bytes = bytes
        self.mediaType = mediaType
        self.digest = digest
    }

    /// Its media type: the answer's `Content-Type`, else what the document says of itself.
    public var documentType: MediaType { mediaType ?? ContentDocument.ownType(of: bytes) }
}

extension RegistryClient {
    static func pullScope(_ repository: RepositoryName) -> String { "repository:\(repository):pull" }

    /// An `Accept` header naming `types`, most preferred first. Registry 2.8 answers 404 for an
    /// OCI manifest that is not asked for by type.
    static func accepting(_ types: [MediaType]) -> HTTPHeaders {
        HTTPHeaders([("Accept", types.map(\.rawValue).joined(separator: ", "))])
    }

    /// `GET /v2/<repo>/manifests/<reference>` with every supported type in `Accept`. A digest
    /// reference is checked against the bytes; the Docker-Content-Digest header is never trusted.
    public func fetchManifest(_ repository: RepositoryName, reference: ManifestReference) async throws -> FetchedManifest {
        let answer = try await send(
            .GET,
            "\(baseURL)/v2/\(repository)/manifests/\(reference)",
            headers: Self.accepting(MediaType.manifestRequest),
            scopes: [Self.pullScope(repository)],
            operation: "GET manifest",
            collectLimit: 16 << 20
        )
        switch answer.status {
        case 200: break
        case 404:
            throw RegistryError.status(
                host: host,
                operation: "\(repository):\(reference)",
                status: 404,
                detail: "not found (check the tag or digest)"
            )
        case 403: throw RegistryError.denied(host: host, repository: repository.path, detail: answer.errorDetail)
        default:
            throw RegistryError.status(
                host: host,
                operation: "GET \(repository) manifest \(reference)",
                status: answer.status,
                detail: answer.errorDetail
            )
        }
        let mediaType = MediaType(contentType: answer.header("Content-Type"))
        if mediaType?.isDockerSchema1 == true {
            throw RegistryError.protocolViolation(
                host: host,
                detail:
                    """
                    \(repository):\(reference) is a Docker schema 1 manifest, which airlock does not carry; re-push it with a current \
                    client
                    """
            )
        }
        let digest = Digest.sha256(of: answer.body)
        if let expected = reference.digest, expected != digest {
            throw RegistryError.digestMismatch(
                what: "manifest \(repository)@\(expected)",
                expected: expected.description,
                actual: digest.description
            )
        }
        return FetchedManifest(bytes: answer.body, mediaType: mediaType, digest: digest)
    }

    /// `GET /v2/<repo>/referrers/<digest>` (OCI 1.1): the referrers index's bytes, or nil when the
    /// registry has no referrers API (it answers 404; one that has it answers 200, even when empty).
    ///
    /// A long list comes in pages (`Link: <…>; rel="next"`, as Harbor and zot page it): every
    /// page is read and the manifests put in one index. A 200 whose body is not an index (a
    /// catch-all route) counts as no API.
    public func fetchReferrers(_ repository: RepositoryName, digest: Digest) async throws -> [UInt8]? {
        var url = "\(baseURL)/v2/\(repository)/referrers/\(digest)"
        var manifests: [Any] = []
        var first: [String: Any]?
        for _ in 0..<100 {
            let answer = try await send(
                .GET,
                url,
                headers: Self.accepting([.ociIndex]),
                scopes: [Self.pullScope(repository)],
                operation: "GET referrers",
                collectLimit: 16 << 20
            )
            switch answer.status {
            case 200: break
            case 404, 400, 405: return nil
            case 403: throw RegistryError.denied(host: host, repository: repository.path, detail: answer.errorDetail)
            default:
                throw RegistryError.status(
                    host: host,
                    operation: "GET \(repository) referrers of \(digest)",
                    status: answer.status,
                    detail: answer.errorDetail
                )
            }
            guard let page = try? JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any],
                let listed = page["manifests"] as? [Any]
            else { return nil }
            if first == nil { first = page }
            manifests += listed
            guard let link = answer.header("Link"), link.contains("rel=\"next\""), let start = link.firstIndex(of: "<"),
                let end = link.firstIndex(of: ">")
            else {
                if manifests.count == listed.count { return answer.body }
                var merged = first ?? [:]
                merged["manifests"] = manifests
                return Array(try JSONSerialization.data(withJSONObject: merged, options: [.sortedKeys, .withoutEscapingSlashes]))
            }
            url = resolve(String(link[link.index(after: start)..<end]))
        }
        throw RegistryError.protocolViolation(host: host, detail: "the referrers of \(digest) go on past 100 pages")
    }

    /// A small blob (at most `limit` bytes), whole, checked against its digest.
    public func fetchSmallBlob(_ repository: RepositoryName, digest: Digest, limit: Int = 4 << 20) async throws -> [UInt8] {
        let answer = try await send(
            .GET,
            "\(baseURL)/v2/\(repository)/blobs/\(digest)",
            scopes: [Self.pullScope(repository)],
            operation: "GET blob",
            collectLimit: limit
        )
        guard answer.status == 200 else {
            throw RegistryError.status(
                host: host,
                operation: "GET \(repository) blob \(digest)",
                status: answer.status,
                detail: answer.errorDetail
            )
        }
        let actual = Digest.sha256(of: answer.body)
        guard actual == digest else {
            throw RegistryError.digestMismatch(
                what: "blob \(repository)@\(digest)",
                expected: digest.description,
                actual: actual.description
            )
        }
        return answer.body
    }

    /// `HEAD /v2/<repo>/manifests/<reference>` with pull scope: the digest and media type the
    /// registry answers with, nil when it does not say. A HEAD does not count against Docker
    /// Hub's pull allowance; a GET does.
    public func headManifest(
        _ repository: RepositoryName,
        reference: ManifestReference
    ) async throws -> (digest: Digest, mediaType: MediaType?)? {
        let answer = try await send(
            .HEAD,
            "\(baseURL)/v2/\(repository)/manifests/\(reference)",
            headers: Self.accepting(MediaType.manifestRequest),
            scopes: [Self.pullScope(repository)],
            operation: "HEAD manifest"
        )
        guard answer.status == 200, let digest = answer.header("Docker-Content-Digest").flatMap({ try? Digest($0) }),
            digest.algorithm == .sha256
        else { return nil }
        return (digest, MediaType(contentType: answer.header("Content-Type")))
    }

    /// ``fetchManifest(_:reference:)``, or nil when the registry has no such manifest.
    public func fetchManifestIfPresent(_ repository: RepositoryName, reference: ManifestReference) async throws -> FetchedManifest? {
        do {
            return try await fetchManifest(repository, reference: reference)
        } catch RegistryError.status(_, _, 404, _) {
            return nil
        }
    }

    /// `GET /v2/<repo>/tags/list`, following `Link: <...>; rel="next"` pages.
    public func listTags(_ repository: RepositoryName) async throws -> [String] {
        struct Page: Decodable { var tags: [String]? }
        let pages: [Page] = try await listPages(
            "\(baseURL)/v2/\(repository)/tags/list?n=1000",
            scopes: [Self.pullScope(repository)],
            what: "the tag list of \(repository)"
        ) { answer in
            switch answer.status {
            case 404: RegistryError.status(host: host, operation: "\(repository) tags", status: 404, detail: "no such repository")
            case 403: RegistryError.denied(host: host, repository: repository.path, detail: answer.errorDetail)
            default:
                RegistryError.status(host: host, operation: "GET \(repository) tags", status: answer.status, detail: answer.errorDetail)
            }
        }
        return pages.flatMap { $0.tags ?? [] }
    }

    /// `GET /v2/_catalog`, following pages: every repository the registry lists. A registry that
    /// keeps its catalog to itself (many do, or only for administrators) gets a message saying so.
    public func listRepositories() async throws -> [String] {
        struct Page: Decodable { var repositories: [String]? }
        func withheld(_ status: Int) -> RegistryError {
            RegistryError.status(
                host: host,
                operation: "GET /v2/_catalog",
                status: status,
                detail: "the registry does not list its repositories to this user; name them with --repository"
            )
        }
        do {
            let pages: [Page] = try await listPages(
                "\(baseURL)/v2/_catalog?n=1000",
                scopes: ["registry:catalog:*"],
                what: "the repository list"
            ) { answer in
                [403, 404, 405].contains(answer.status)
                    ? withheld(answer.status)
                    : RegistryError.status(host: host, operation: "GET /v2/_catalog", status: answer.status, detail: answer.errorDetail)
            }
            return pages.flatMap { $0.repositories ?? [] }
        } catch RegistryError.unauthorized where session.credential != nil {
            throw withheld(401)  // the credentials got a token, but not one for the catalog
        }
    }

    /// The pages of a list (`n` per page, `Link: <...>; rel="next"` to the next), at most 1000 pages.
    private func listPages<Page: Decodable>(
        _ start: String,
        scopes: [String],
        what: String,
        failure: (Response) -> RegistryError
    ) async throws -> [Page] {
        var pages: [Page] = []
        var url = start
        for _ in 0..<1000 {
            let answer = try await send(.GET, url, scopes: scopes, operation: "GET \(what)", collectLimit: 16 << 20)
            guard answer.status == 200 else { throw failure(answer) }
            guard let page = try? JSONDecoder().decode(Page.self, from: Data(answer.body)) else {
                throw RegistryError.protocolViolation(host: host, detail: "\(what) is not JSON")
            }
            pages.append(page)
            guard let link = answer.header("Link"), let start = link.firstIndex(of: "<"), let end = link.firstIndex(of: ">"),
                link.contains("rel=\"next\"")
            else { return pages }
            url = resolve(String(link[link.index(after: start)..<end]))
        }
        throw RegistryError.protocolViolation(host: host, detail: "\(what) goes on past 1000 pages")
    }

}
