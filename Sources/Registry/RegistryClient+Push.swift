import AsyncHTTPClient
import Foundation
import Hashing
import NIOCore
import NIOHTTP1
import OCI

/// Supplies a blob's bytes for one upload attempt, in order; `nil` at the end. It must check the
/// bytes against the blob's digest and throw *before* handing out the last chunk if they differ,
/// so a tampered blob is never completed on the registry.
public protocol ByteChunkSource: Sendable {
    func nextChunk() async throws -> ByteBuffer?
}

/// Makes a fresh source for each attempt (an upload body cannot be replayed).
public typealias ChunkSourceFactory = @Sendable () throws -> any ByteChunkSource

/// What happened to one blob.
public enum BlobOutcome: String, Sendable, Codable {
    case present, mounted, uploaded
}

extension RegistryClient {
    static func pushScope(_ repository: RepositoryName) -> String { "repository:\(repository):pull,push" }

    /// `HEAD /v2/<repo>/blobs/<digest>`: whether the registry has the blob in that repository.
    public func blobExists(_ repository: RepositoryName, digest: Digest) async throws -> Bool {
        let answer = try await send(
            .HEAD,
            "\(baseURL)/v2/\(repository)/blobs/\(digest)",
            scopes: [Self.pushScope(repository)],
            operation: "HEAD blob"
        )
        switch answer.status {
        case 200: return true
        case 404: return false
        case 403: throw RegistryError.denied(host: host, repository: repository.path, detail: "HEAD blob")
        default:
            throw RegistryError.status(
                host: host,
                operation: "HEAD \(repository) blob \(digest)",
                status: answer.status,
                detail: answer.errorDetail
            )
        }
    }

    /// Tries a cross-repository mount; false if the registry opened an upload instead (then
    /// cancelled), or refused the mount outright (Harbor, GitLab and token services that honour
    /// only the first scope answer 401 or 403): the caller then uploads the blob.
    public func mountBlob(_ repository: RepositoryName, digest: Digest, from source: RepositoryName) async throws -> Bool {
        let url = "\(baseURL)/v2/\(repository)/blobs/uploads/?mount=\(digest)&from=\(source)"
        let answer: Response
        do {
            answer = try await send(
                .POST,
                url,
                headers: ["Content-Length": "0"],
                scopes: [Self.pushScope(repository), "repository:\(source):pull"],
                operation: "mount blob"
            )
        } catch RegistryError.unauthorized, RegistryError.denied {
            return false
        }
        if answer.status == 201 { return true }
        if answer.status == 202, let location = answer.header("Location"), let url = try? uploadLocation(location) {
            _ = try? await send(.DELETE, url, scopes: [Self.pushScope(repository)], operation: "cancel upload")
        }
        return false
    }

    /// Whether the repository takes pushes: an upload session is opened and cancelled. False
    /// when the registry says the repository does not exist (`NAME_UNKNOWN`: ECR, Quay, Harbor
    /// and GitLab do not create repositories on push).
    public func repositoryAcceptsPushes(_ repository: RepositoryName) async throws -> Bool {
        let scopes = [Self.pushScope(repository)]
        let start = try await send(
            .POST,
            "\(baseURL)/v2/\(repository)/blobs/uploads/",
            headers: ["Content-Length": "0"],
            scopes: scopes,
            operation: "start upload"
        )
        switch start.status {
        case 202:
            if let location = start.header("Location"), let url = try? uploadLocation(location) {
                _ = try? await send(.DELETE, url, scopes: scopes, operation: "cancel upload")
            }
            return true
        case 404 where start.errorDetail.contains("NAME_UNKNOWN") || start.errorDetail.isEmpty:
            return false
        case 403:
            throw RegistryError.denied(host: host, repository: repository.path, detail: start.errorDetail)
        default:
            throw RegistryError.status(host: host, operation: "POST \(repository) upload", status: start.status, detail: start.errorDetail)
        }
    }

    /// Uploads a blob: `POST` a session, then one streamed `PUT …&digest=`, or `PATCH` chunks of
    /// `chunkSize` when given. A registry or proxy that refuses a whole blob in one PUT (413,
    /// Artifactory's 404 on a PUT with a body) gets it again in 8 MiB chunks. A connection that
    /// breaks mid-body, or a 5xx, starts a new session (a registry refuses to resume one whose
    /// state it lost). The registry checks the digest too.
    public func uploadBlob(
        _ repository: RepositoryName,
        digest: Digest,
        size: Int64,
        chunkSize: Int64? = nil,
        source: @escaping ChunkSourceFactory
    ) async throws {
        var attempt = 0
        var chunks = chunkSize
        while true {
            attempt += 1
            do {
                try await uploadOnce(repository, digest: digest, size: size, chunkSize: chunks, source: source)
                return
            } catch UploadRetry.wholeBodyRefused where chunks == nil {
                chunks = Self.fallbackChunkSize
                attempt -= 1
            } catch UploadRetry.transient(let error) {
                guard attempt < Self.maxAttempts else { throw error }
                try await backoff(attempt: attempt, retryAfter: nil)
            }
        }
    }

    static let fallbackChunkSize: Int64 = 8 << 20

    private enum UploadRetry: Error {
        case wholeBodyRefused
        case transient(RegistryError)
    }

    private func uploadOnce(
        _ repository: RepositoryName,
        digest: Digest,
        size: Int64,
        chunkSize: Int64?,
        source: @escaping ChunkSourceFactory
    ) async throws {
        let (location, minimum) = try await startUpload(repository)
        var url = location
        var offset: Int64 = 0
        if let chunkSize, size > 0 {
            (url, offset) = try await sendChunks(repository, to: url, size: size, step: max(chunkSize, minimum), source: source)
        }
        let remaining = size - offset
        let makeBody: BodyFactory = { @Sendable in
            let sequence = ChunkSequence(source: try source())
            return HTTPClientRequest.Body.stream(sequence, length: .known(remaining))
        }
        let answer = try await sendUploadPart(
            .PUT,
            appendQuery(url, "digest=\(digest)"),
            headers: ["Content-Type": "application/octet-stream", "Content-Length": "\(remaining)"],
            scopes: [Self.pushScope(repository)],
            body: remaining == 0 ? nil : makeBody,
            operation: "PUT blob"
        )
        guard answer.status == 201 || answer.status == 204 else {
            if answer.errorDetail.contains("DIGEST_INVALID") {
                // The source checked these bytes against the signed digest as they were sent.
                throw RegistryError.alteredInTransit(host: host, digest: digest.description)
            }
            if remaining > 0, chunkSize == nil,
                answer.status == 413 || (answer.status == 404 && answer.errorDetail.contains("BLOB_UPLOAD_UNKNOWN"))
            {
                throw UploadRetry.wholeBodyRefused
            }
            throw RegistryError.status(
                host: host,
                operation: "PUT \(repository) blob \(digest)",
                status: answer.status,
                detail: answer.errorDetail
            )
        }
        try checkStored(answer, as: digest, what: "blob")
    }

    /// `POST /v2/<repo>/blobs/uploads/`: the session's location, and the smallest chunk the
    /// registry takes (`OCI-Chunk-Min-Length`, 0 when it says none).
    private func startUpload(_ repository: RepositoryName) async throws -> (location: String, minimumChunk: Int64) {
        let start = try await send(
            .POST,
            "\(baseURL)/v2/\(repository)/blobs/uploads/",
            headers: ["Content-Length": "0"],
            scopes: [Self.pushScope(repository)],
            operation: "start upload"
        )
        guard start.status == 202, let location = start.header("Location") else {
            if start.status == 403 { throw RegistryError.denied(host: host, repository: repository.path, detail: start.errorDetail) }
            if start.status == 404, start.errorDetail.contains("NAME_UNKNOWN") {
                throw RegistryError.missingRepositories(host: host, names: [repository.path])
            }
            throw RegistryError.status(host: host, operation: "POST \(repository) upload", status: start.status, detail: start.errorDetail)
        }
        return (try uploadLocation(location), start.header("OCI-Chunk-Min-Length").flatMap(Int64.init) ?? 0)
    }

    /// The whole blob as PATCHes of `step` bytes; the session's next location and the bytes sent.
    private func sendChunks(
        _ repository: RepositoryName,
        to location: String,
        size: Int64,
        step: Int64,
        source: @escaping ChunkSourceFactory
    ) async throws -> (location: String, offset: Int64) {
        var url = location
        var offset: Int64 = 0
        let reader = try ChunkReader(factory: source)
        while offset < size {
            let bytes = try await reader.read(Int(min(step, size - offset)))
            let answer = try await sendUploadPart(
                .PATCH,
                url,
                headers: [
                    "Content-Type": "application/octet-stream", "Content-Length": "\(bytes.readableBytes)",
                    "Content-Range": "\(offset)-\(offset + Int64(bytes.readableBytes) - 1)",
                ],
                scopes: [Self.pushScope(repository)],
                body: { .bytes(bytes) },
                operation: "PATCH chunk"
            )
            // 202 by the spec; ECR answers 201 (with a stale Range): both mean the chunk landed.
            guard answer.status == 202 || answer.status == 201, let next = answer.header("Location") else {
                throw RegistryError.status(
                    host: host,
                    operation: "PATCH \(repository) chunk",
                    status: answer.status,
                    detail: answer.errorDetail
                )
            }
            url = try uploadLocation(next)
            offset += Int64(bytes.readableBytes)
        }
        try await reader.finish()
        return (url, offset)
    }

    /// A PUT or PATCH of an upload session: a broken connection or a 5xx is not retried on the
    /// same session but handed up, so the whole upload starts again.
    private func sendUploadPart(
        _ method: HTTPMethod,
        _ url: String,
        headers: HTTPHeaders,
        scopes: [String],
        body: BodyFactory?,
        operation: String
    ) async throws -> Response {
        let answer: Response
        do {
            answer = try await send(method, url, headers: headers, scopes: scopes, body: body, operation: operation, retryTransport: false)
        } catch let error as RegistryError {
            if case .unreachable = error { throw UploadRetry.transient(error) }
            throw error
        }
        if [500, 502, 503, 504].contains(answer.status) {
            throw UploadRetry.transient(.status(host: host, operation: operation, status: answer.status, detail: answer.errorDetail))
        }
        return answer
    }

    /// `HEAD /v2/<repo>/manifests/<reference>`: the digest the registry has there, if any. A
    /// registry (or proxy) that answers HEAD without `Docker-Content-Digest` gets a GET, and the
    /// digest is computed from the bytes, so an existing tag is recognised (immutable tags refuse a
    /// second PUT even of the same manifest).
    public func manifestDigest(_ repository: RepositoryName, reference: ManifestReference, accept: [MediaType]) async throws -> Digest? {
        let headers = Self.accepting(accept)
        let answer = try await send(
            .HEAD,
            "\(baseURL)/v2/\(repository)/manifests/\(reference)",
            headers: headers,
            scopes: [Self.pushScope(repository)],
            operation: "HEAD manifest"
        )
        if answer.status == 404 { return nil }
        guard answer.status == 200 else {
            throw RegistryError.status(
                host: host,
                operation: "HEAD \(repository) manifest",
                status: answer.status,
                detail: answer.errorDetail
            )
        }
        if let digest = answer.header("Docker-Content-Digest").flatMap({ try? Digest($0) }) { return digest }
        let full = try await send(
            .GET,
            "\(baseURL)/v2/\(repository)/manifests/\(reference)",
            headers: headers,
            scopes: [Self.pushScope(repository)],
            operation: "GET manifest",
            collectLimit: 16 << 20
        )
        if full.status == 404 { return nil }
        guard full.status == 200 else {
            throw RegistryError.status(host: host, operation: "GET \(repository) manifest", status: full.status, detail: full.errorDetail)
        }
        return Digest.sha256(of: full.body)
    }

    /// `PUT /v2/<repo>/manifests/<reference>` with the exact bytes and media type; the registry
    /// must store them under their digest.
    @discardableResult
    public func putManifest(
        _ repository: RepositoryName,
        reference: ManifestReference,
        mediaType: MediaType,
        bytes: [UInt8]
    ) async throws -> String? {
        let digest = Digest.sha256(of: bytes)
        let answer = try await send(
            .PUT,
            "\(baseURL)/v2/\(repository)/manifests/\(reference)",
            headers: ["Content-Type": mediaType.rawValue, "Content-Length": "\(bytes.count)"],
            scopes: [Self.pushScope(repository)],
            body: { .bytes(ByteBuffer(bytes: bytes)) },
            operation: "PUT manifest"
        )
        guard answer.status == 201 else {
            throw RegistryError.status(
                host: host,
                operation: "PUT \(repository) manifest \(reference)",
                status: answer.status,
                detail: answer.errorDetail
            )
        }
        try checkStored(answer, as: digest, what: "manifest")
        // A registry with the referrers API says so by naming the subject it indexed.
        return answer.header("OCI-Subject")
    }

    /// A registry that says it stored what was sent under another digest is not believed.
    private func checkStored(_ answer: Response, as digest: Digest, what: String) throws {
        if let echoed = answer.header("Docker-Content-Digest"), echoed != digest.description {
            throw RegistryError.protocolViolation(host: host, detail: "stored \(what) \(digest) as \(echoed)")
        }
    }

    private func appendQuery(_ url: String, _ item: String) -> String {
        url.contains("?") ? "\(url)&\(item)" : "\(url)?\(item)"
    }
}

/// Adapts a ``ByteChunkSource`` to the `AsyncSequence` of buffers AsyncHTTPClient streams.
struct ChunkSequence: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let source: any ByteChunkSource

    struct AsyncIterator: AsyncIteratorProtocol {
        let source: any ByteChunkSource
        mutating func next() async throws -> ByteBuffer? {
            try await source.nextChunk()
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(source: source) }
}

/// Reads exact-size pieces from one source, for chunked uploads.
actor ChunkReader {
    private let source: any ByteChunkSource
    private var pending = ByteBuffer()
    private var ended = false

    init(factory: ChunkSourceFactory) throws { source = try factory() }

    func read(_ count: Int) async throws -> ByteBuffer {
        while pending.readableBytes < count, !ended {
            if var chunk = try await source.nextChunk() { pending.writeBuffer(&chunk) } else { ended = true }
        }
        let piece = pending.readSlice(length: min(count, pending.readableBytes)) ?? ByteBuffer()
        pending.discardReadBytes()
        return piece
    }

    /// Drains the source so its digest check runs.
    func finish() async throws {
        while try await source.nextChunk() != nil {}
    }
}
