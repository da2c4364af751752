import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import OCI

/// How the server answers: blobs sent in pieces (ranges honoured), paged lists, errors in the
/// distribution spec's shape, each request recorded for the log.
extension RegistryServer {
    func sendBlob(
        _ repository: RepositoryName,
        digest: Digest,
        size: Int64,
        body: Bool,
        _ request: HTTPRequestHead,
        _ out: Outbound
    ) async throws {
        var headers = HTTPHeaders()
        headers.add(name: "Docker-Content-Digest", value: digest.description)
        headers.add(name: "Accept-Ranges", value: "bytes")
        var start: Int64 = 0
        var end = size - 1
        var status = 200
        if let range = request.headers.first(name: "Range") {
            guard let (first, last) = Self.byteRange(range, size: size) else {
                headers.add(name: "Content-Range", value: "bytes */\(size)")
                try await send(416, body: [], type: "application/octet-stream", headers: headers, request, out)
                return
            }
            (start, end, status) = (first, last, 206)
            headers.add(name: "Content-Range", value: "bytes \(start)-\(end)/\(size)")
        }
        try await writeHead(status, type: "application/octet-stream", length: end - start + 1, headers: headers, request, out)
        guard body else {
            try await out.write(.end(nil))
            record(request, out, status, 0, nil)
            return
        }
        // The whole blob is read and checked, also for a range: the source withholds its last
        // piece unless the digest matches, so a tampered blob never arrives complete.
        var sent: Int64 = 0
        var position: Int64 = 0
        do {
            let source = try content.blob(repository, digest: digest)
            while let chunk = try await source.nextChunk() {
                let chunkStart = position
                position += Int64(chunk.readableBytes)
                let from = max(start, chunkStart), to = min(end + 1, position)
                guard from < to else { continue }
                let piece = chunk.getSlice(at: chunk.readerIndex + Int(from - chunkStart), length: Int(to - from)) ?? ByteBuffer()
                try await out.writePiece(piece)
                sent += Int64(piece.readableBytes)
            }
        } catch {
            record(request, out, status, sent, String(describing: error))
            throw CutOff()
        }
        try await out.write(.end(nil))
        record(request, out, status, sent, nil)
    }

    /// ``page(_:uri:)`` for `request`; nil once it has answered 400 for an `n` that is not a whole number.
    func page(_ all: [String], _ request: HTTPRequestHead, _ out: Outbound) async throws -> ([String], HTTPHeaders)? {
        guard let page = Self.page(all, uri: request.uri) else {
            try await error(400, "PAGINATION_NUMBER_INVALID", "n must be a whole number", request, out)
            return nil
        }
        return page
    }

    /// One page of a list the way the distribution API pages `_catalog` and tag lists: the names
    /// sorted, those after `last`, at most `n` of them (all without `n`), and a `Link` header to
    /// the next page when more follow. Nil when `n` is not a whole number.
    static func page(_ all: [String], uri: String) -> ([String], HTTPHeaders)? {
        let components = URLComponents(string: uri)
        let query = components?.queryItems ?? []
        var names = all.sorted()
        if let last = query.first(where: { $0.name == "last" })?.value {
            names = names.filter { $0 > last }
        }
        var headers = HTTPHeaders()
        guard let text = query.first(where: { $0.name == "n" })?.value else { return (names, headers) }
        guard let n = Int(text), n >= 0 else { return nil }
        if n == 0 { return ([], headers) }  // asks for nothing: no next page to follow
        if names.count > n {
            names = Array(names.prefix(n))
            var next = URLComponents()
            next.path = components?.path ?? uri
            next.queryItems = [URLQueryItem(name: "n", value: String(n)), URLQueryItem(name: "last", value: names.last)]
            headers.add(name: "Link", value: "<\(next.string ?? next.path)>; rel=\"next\"")
        }
        return (names, headers)
    }

    /// `bytes=FIRST-[LAST]` or `bytes=-SUFFIX` within `size`; nil when it cannot be satisfied.
    static func byteRange(_ header: String, size: Int64) -> (Int64, Int64)? {
        guard header.hasPrefix("bytes="), !header.contains(","), size > 0 else { return nil }
        let spec = header.dropFirst("bytes=".count).split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard spec.count == 2 else { return nil }
        if spec[0].isEmpty {
            guard let suffix = Int64(spec[1]), suffix > 0 else { return nil }
            return (max(0, size - suffix), size - 1)
        }
        guard let first = Int64(spec[0]), first < size else { return nil }
        if spec[1].isEmpty { return (first, size - 1) }
        guard let last = Int64(spec[1]), last >= first else { return nil }
        return (first, min(last, size - 1))
    }

    func send(
        _ status: Int,
        body bytes: [UInt8],
        type: String,
        headers extra: HTTPHeaders = HTTPHeaders(),
        _ request: HTTPRequestHead,
        _ out: Outbound
    ) async throws {
        var headers = extra
        headers.add(name: "Docker-Distribution-API-Version", value: "registry/2.0")
        try await writeHead(status, type: type, length: Int64(bytes.count), headers: headers, request, out)
        let body = request.method != .HEAD && !bytes.isEmpty  // a HEAD answer has the headers of a GET's, no body
        if body { try await out.write(.body(.byteBuffer(ByteBuffer(bytes: bytes)))) }
        try await out.write(.end(nil))
        record(request, out, status, body ? Int64(bytes.count) : 0, nil)
    }

    /// The status line and headers, with the body's type and length, and `Connection: close` when
    /// the client asked for it.
    func writeHead(
        _ status: Int,
        type: String,
        length: Int64,
        headers extra: HTTPHeaders,
        _ request: HTTPRequestHead,
        _ out: Outbound
    ) async throws {
        var headers = extra
        headers.add(name: "Content-Type", value: type)
        headers.add(name: "Content-Length", value: "\(length)")
        if out.closing { headers.add(name: "Connection", value: "close") }
        try await out.write(.head(HTTPResponseHead(version: request.version, status: .init(statusCode: status), headers: headers)))
    }

    func error(_ status: Int, _ code: String, _ message: String, _ request: HTTPRequestHead, _ out: Outbound) async throws {
        try await send(status, body: encode(ErrorList(code, message)), type: "application/json", request, out)
    }

    /// An error answer after which the connection closes (too many connections, a body too large).
    func refuse(_ status: Int, _ code: String, _ message: String, _ request: HTTPRequestHead, _ given: Outbound) async throws {
        var out = given
        out.closing = true
        var headers = HTTPHeaders()
        if status == 503 { headers.add(name: "Retry-After", value: "1") }
        try await send(status, body: encode(ErrorList(code, message)), type: "application/json", headers: headers, request, out)
    }

    func encode(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array((try? encoder.encode(value)) ?? Data("{}".utf8))
    }

    /// The request's path, without its query.
    static func path(of request: HTTPRequestHead) -> String {
        String(request.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
    }

    func record(_ request: HTTPRequestHead, _ out: Outbound, _ status: Int, _ bytes: Int64, _ failure: String?) {
        log(
            ServedRequest(
                time: formatTime(out.started),
                client: out.client,
                user: out.user,
                method: request.method.rawValue,
                path: Self.path(of: request),
                status: status,
                bytes: bytes,
                milliseconds: Int((Date().timeIntervalSince(out.started) * 1000).rounded()),
                failure: failure
            )
        )
    }
}

/// The distribution spec's error body.
struct ErrorList: Encodable {
    struct Entry: Encodable {
        let code: String
        let message: String
    }
    let errors: [Entry]

    init(_ code: String, _ message: String) { errors = [Entry(code: code, message: message)] }
}

/// `2026-12-07T20:00:55Z`: the log's time, made without a formatter object per request.
private func formatTime(_ date: Date) -> String {
    date.formatted(Date.ISO8601FormatStyle(timeZone: .gmt))
}
