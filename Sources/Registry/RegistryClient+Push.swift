import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Supplies a blob's bytes for one upload attempt, in order; `nil` at the end. It must check the
/// bytes against the blob's digest and throw *before* handing out the last chunk if they differ,
/// so a tampered blob is never completed on the registry.
public protocol ByteChunkSource: Sendable {
    func nextChunk() async throws -> [UInt8]?
}

/// Makes a fresh source for each attempt (an upload body cannot be replayed).
public typealias ChunkSourceFactory = @Sendable () throws -> any ByteChunkSource

/// What happened to one blob.
public enum BlobOutcome: String, Sendable, Codable {
    case present, mounted, uploaded
}

extension RegistryClient {
    static func pushScope(_ repository: String) -> String { "repository:\(repository):pull,push" }

    /// `HEAD /v2/<repo>/blobs/<digest>`: whether the registry has the blob in that repository.
    public func blobExists(_ repository: String, digest: String) async throws -> Bool {
        let answer = try await send(.HEAD, "\(baseURL)/v2/\(repository)/blobs/\(digest)", scopes: [Self.pushScope(repository)],
                                    operation: "HEAD blob")
        switch answer.status {
        case 200: return true
        case 404: return false
        case 403: throw RegistryError.denied(host: host, repository: repository, detail: "HEAD blob")
        default: throw RegistryError.status(host: host, operation: "HEAD \(repository) blob \(digest)", status: answer.status, detail: answer.errorDetail)
        }
    }

    /// Tries a cross-repository mount; false if the registry opened an upload instead (then cancelled).
    public func mountBlob(_ repository: String, digest: String, from source: String) async throws -> Bool {
        let url = "\(baseURL)/v2/\(repository)/blobs/uploads/?mount=\(digest)&from=\(source)"
        let answer = try await send(.POST, url, headers: ["Content-Length": "0"],
                                    scopes: [Self.pushScope(repository), "repository:\(source):pull"], operation: "mount blob")
        if answer.status == 201 { return true }
        if answer.status == 202, let location = answer.header("Location") {
            _ = try? await send(.DELETE, resolve(location), scopes: [Self.pushScope(repository)], operation: "cancel upload")
        }
        return false
    }

    /// Uploads a blob: `POST` a session, then one streamed `PUT …&digest=` (or `PATCH` chunks of
    /// `chunkSize` when given, for proxies that limit body size). The registry checks the digest too.
    public func uploadBlob(_ repository: String, digest: String, size: Int64, chunkSize: Int64? = nil,
                           source: @escaping ChunkSourceFactory) async throws {
        let scopes = [Self.pushScope(repository)]
        let start = try await send(.POST, "\(baseURL)/v2/\(repository)/blobs/uploads/", headers: ["Content-Length": "0"],
                                   scopes: scopes, operation: "start upload")
        guard start.status == 202, let location = start.header("Location") else {
            if start.status == 403 { throw RegistryError.denied(host: host, repository: repository, detail: start.errorDetail) }
            throw RegistryError.status(host: host, operation: "POST \(repository) upload", status: start.status, detail: start.errorDetail)
        }
        var url = resolve(location)
        var offset: Int64 = 0
        if let chunkSize, size > 0 {
            let minimum = start.header("OCI-Chunk-Min-Length").flatMap(Int64.init) ?? 0
            let step = max(chunkSize, minimum)
            let reader = try ChunkReader(factory: source)
            while offset < size {
                let length = min(step, size - offset)
                let bytes = try await reader.read(Int(length))
                let answer = try await send(.PATCH, url, headers: [
                    "Content-Type": "application/octet-stream", "Content-Length": "\(bytes.count)",
                    "Content-Range": "\(offset)-\(offset + Int64(bytes.count) - 1)",
                ], scopes: scopes, body: { .bytes(ByteBuffer(bytes: bytes)) }, operation: "PATCH chunk")
                guard answer.status == 202, let next = answer.header("Location") else {
                    throw RegistryError.status(host: host, operation: "PATCH \(repository) chunk", status: answer.status, detail: answer.errorDetail)
                }
                url = resolve(next)
                offset += Int64(bytes.count)
            }
            try await reader.finish()
        }
        let final = appendQuery(url, "digest=\(digest)")
        let remaining = size - offset
        let makeBody: BodyFactory = { @Sendable in
            let sequence = ChunkSequence(source: try source())
            return HTTPClientRequest.Body.stream(sequence, length: .known(remaining))
        }
        let body: BodyFactory? = remaining == 0 ? nil : makeBody
        let answer = try await send(.PUT, final, headers: ["Content-Type": "application/octet-stream", "Content-Length": "\(remaining)"],
                                    scopes: scopes, body: body, operation: "PUT blob")
        guard answer.status == 201 else {
            if answer.status == 400, answer.errorDetail.contains("DIGEST_INVALID") {
                throw RegistryError.digestMismatch(what: "blob \(digest)", expected: digest, actual: "another digest (per the registry)")
            }
            throw RegistryError.status(host: host, operation: "PUT \(repository) blob \(digest)", status: answer.status, detail: answer.errorDetail)
        }
        if let echoed = answer.header("Docker-Content-Digest"), echoed != digest {
            throw RegistryError.protocolViolation(host: host, detail: "stored blob \(digest) as \(echoed)")
        }
    }

    /// `HEAD /v2/<repo>/manifests/<reference>`: the digest the registry has there, if any.
    public func manifestDigest(_ repository: String, reference: String, accept: [String]) async throws -> String? {
        let answer = try await send(.HEAD, "\(baseURL)/v2/\(repository)/manifests/\(reference)",
                                    headers: HTTPHeaders([("Accept", accept.joined(separator: ", "))]),
                                    scopes: [Self.pushScope(repository)], operation: "HEAD manifest")
        if answer.status == 404 { return nil }
        guard answer.status == 200 else {
            throw RegistryError.status(host: host, operation: "HEAD \(repository) manifest", status: answer.status, detail: answer.errorDetail)
        }
        return answer.header("Docker-Content-Digest")
    }

    /// `PUT /v2/<repo>/manifests/<reference>` with the exact bytes and media type.
    public func putManifest(_ repository: String, reference: String, mediaType: String, bytes: [UInt8], digest: String) async throws {
        let answer = try await send(.PUT, "\(baseURL)/v2/\(repository)/manifests/\(reference)",
                                    headers: ["Content-Type": mediaType, "Content-Length": "\(bytes.count)"],
                                    scopes: [Self.pushScope(repository)], body: { .bytes(ByteBuffer(bytes: bytes)) }, operation: "PUT manifest")
        guard answer.status == 201 else {
            throw RegistryError.status(host: host, operation: "PUT \(repository) manifest \(reference)", status: answer.status, detail: answer.errorDetail)
        }
        if let echoed = answer.header("Docker-Content-Digest"), echoed != digest {
            throw RegistryError.protocolViolation(host: host, detail: "stored manifest \(digest) as \(echoed)")
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
            guard let bytes = try await source.nextChunk() else { return nil }
            return ByteBuffer(bytes: bytes)
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(source: source) }
}

/// Reads exact-size pieces from one source, for chunked uploads.
actor ChunkReader {
    private let source: any ByteChunkSource
    private var pending: [UInt8] = []
    private var ended = false

    init(factory: ChunkSourceFactory) throws { source = try factory() }

    func read(_ count: Int) async throws -> [UInt8] {
        while pending.count < count, !ended {
            if let chunk = try await source.nextChunk() { pending += chunk } else { ended = true }
        }
        let piece = Array(pending.prefix(count))
        pending.removeFirst(piece.count)
        return piece
    }

    /// Drains the source so its digest check runs.
    func finish() async throws {
        while try await source.nextChunk() != nil {}
    }
}
