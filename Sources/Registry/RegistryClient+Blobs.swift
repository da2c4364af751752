import AsyncHTTPClient
import Foundation
import Hashing
import NIOCore
import NIOHTTP1
import NIOSSL
import OCI

/// Blob downloads: streamed into a sink, redirects followed with credentials kept on the
/// registry's origin, resumed with Range after a break, retried while they make progress.
extension RegistryClient {
    /// Streams `GET /v2/<repo>/blobs/<digest>` into `sink`, following redirects without sending
    /// credentials to another host, resuming with `Range` after a broken transfer, and retrying.
    /// A transfer that keeps making progress (at least 1 MiB per attempt) is retried for as long
    /// as it does; one that stalls gets the usual five attempts.
    public func fetchBlob(_ repository: RepositoryName, digest: Digest, size: Int64, into sink: any BlobSink) async throws {
        var attempt = 0
        var lastOffset = try await sink.offset()
        while true {
            attempt += 1
            do {
                try await fetchBlobOnce(repository, digest: digest, size: size, into: sink)
                return
            } catch let error as RegistryError {
                var retryable = false
                switch error {
                case .unreachable: retryable = true
                case .status(_, _, let status, _): retryable = status >= 500 || status == 429
                default: retryable = false
                }
                let offset = (try? await sink.offset()) ?? lastOffset
                if offset - lastOffset >= 1 << 20 { attempt = 1 }
                lastOffset = offset
                guard retryable, attempt < Self.maxAttempts else { throw error }
                try await backoff(attempt: attempt, retryAfter: nil)
            }
        }
    }

    /// One attempt: GET (from where the sink stopped, with Range), following redirects and
    /// answering an auth challenge, until the blob is whole or the attempt breaks.
    func fetchBlobOnce(_ repository: RepositoryName, digest: Digest, size: Int64, into sink: any BlobSink) async throws {
        let scopes = [Self.pullScope(repository)]
        var url = "\(baseURL)/v2/\(repository)/blobs/\(digest)"
        var sameOrigin = true
        var askRange = true
        for _ in 0..<6 {
            let offset = try await sink.offset()
            if offset == size { return }
            var headers = HTTPHeaders()
            headers.add(name: "User-Agent", value: userAgent)
            if offset > 0 && askRange { headers.add(name: "Range", value: "bytes=\(offset)-") }
            if sameOrigin, let authorization = try await authorizationForBlob(scopes) {
                headers.add(name: "Authorization", value: authorization)
            }
            let step: BlobStep
            do {
                step = try await getBlob(url, headers: headers, size: size) { answer in
                    try await receive(answer, from: offset, into: sink, repository: repository, digest: digest, challengeable: sameOrigin)
                }
            } catch let failure as SinkFailure {
                throw failure.error
            } catch let error as RegistryError {
                throw error
            } catch {
                throw classify(error)
            }
            switch step {
            case .follow(let next):
                // Credentials stay with the registry's origin (scheme, host and port, as for every
                // other request): a redirect to object storage, or another port, gets none.
                sameOrigin = sameOrigin && isRegistryOrigin(next)
                url = next
            case .authenticate:
                // Let the generic path answer the challenge (it fetches and caches a token), then retry.
                _ = try await send(.HEAD, "\(baseURL)/v2/\(repository)/blobs/\(digest)", scopes: scopes, operation: "HEAD blob")
            case .askWhole:
                askRange = false
            case .done:
                return
            }
        }
        throw RegistryError.protocolViolation(host: host, detail: "too many redirects for blob \(digest)")
    }

    /// What one answer to a blob GET means: a redirect to follow, a challenge to answer, a range
    /// the server will not serve, or the body, streamed into the sink (skipping what it holds
    /// when the server sent the whole blob instead of the range).
    private func receive(
        _ answer: BlobAnswer,
        from offset: Int64,
        into sink: any BlobSink,
        repository: RepositoryName,
        digest: Digest,
        challengeable: Bool
    ) async throws -> BlobStep {
        let status = answer.status
        if [301, 302, 303, 307, 308].contains(status), let location = answer.headers.first(name: "Location") {
            try? await answer.discardBody()
            return .follow(resolve(location))
        }
        if status == 401 && challengeable, AuthChallenge.best(in: answer.headers["WWW-Authenticate"]) != nil {
            try? await answer.discardBody()
            return .authenticate
        }
        var skip: Int64 = 0
        switch status {
        case 200:
            skip = offset
        case 206:
            break
        case 416:
            try? await answer.discardBody()
            return .askWhole
        case 404:
            throw RegistryError.status(host: host, operation: "blob \(digest) of \(repository)", status: 404, detail: "not found")
        case 401:
            throw RegistryError.unauthorized(host: host, detail: "blob download refused")
        case 403:
            throw RegistryError.denied(host: host, repository: repository.path, detail: "blob download")
        default:
            throw RegistryError.status(host: host, operation: "GET blob \(digest)", status: status, detail: "")
        }
        while var chunk = try await answer.nextChunk() {
            if skip > 0 {
                let dropped = Int(min(skip, Int64(chunk.readableBytes)))
                chunk.moveReaderIndex(forwardBy: dropped)
                skip -= Int64(dropped)
                if chunk.readableBytes == 0 { continue }
            }
            do { try await sink.write(chunk) } catch { throw SinkFailure(error: error) }
        }
        return .done
    }

    /// Blobs at least this big get a connection of their own (``BlobConnection``) unless a proxy
    /// carries the traffic; smaller ones share AsyncHTTPClient's pooled connections.
    static let ownConnectionSize: Int64 = 1 << 20

    /// Sends a blob GET and hands the answer to `body`.
    func getBlob<T>(_ url: String, headers: HTTPHeaders, size: Int64, _ body: (BlobAnswer) async throws -> T) async throws -> T {
        if size >= Self.ownConnectionSize, proxyURL == nil, url.hasPrefix("http://") || blobTLS != nil {
            return try await BlobConnection.get(url, headers: headers, tls: blobTLS, readTimeout: .seconds(300), body)
        }
        var request = HTTPClientRequest(url: url)
        request.headers = headers
        let response = try await http.execute(request, timeout: .seconds(3600))
        var chunks = response.body.makeAsyncIterator()
        return try await body(BlobAnswer(status: Int(response.status.code), headers: response.headers) { try await chunks.next() })
    }
}

/// Receives a blob's bytes as they arrive, in order and each byte once: a resumed download asks
/// for the rest with `Range`, and when the registry sends the whole blob again instead, the bytes
/// the sink already holds are skipped (the sink's digest check covers the joined bytes).
public protocol BlobSink: Sendable {
    /// Bytes already held.
    func offset() async throws -> Int64
    func write(_ bytes: ByteBuffer) async throws
}

extension BlobAnswer {
    /// Reads and drops a short body (a redirect's or an error's), so the connection can be reused.
    func discardBody() async throws {
        var left = 1 << 16
        while left > 0, let chunk = try await nextChunk() { left -= chunk.readableBytes }
    }
}

/// What a ``BlobSink`` threw (a full disk, a stopped pack, more bytes than declared): passed on
/// as it is, never taken for a network failure and retried.
struct SinkFailure: Error {
    let error: any Error
}

/// Where one blob GET left the download.
private enum BlobStep {
    case follow(String)
    case authenticate
    case askWhole
    case done
}
