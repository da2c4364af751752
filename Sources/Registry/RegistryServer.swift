import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// A read-only registry (the pull half of the distribution API, as docker-registry answers it):
/// `GET`/`HEAD` of `/v2/`, manifests by tag or digest, blobs (with `Range`), tag lists and the
/// catalog (paged), and the OCI 1.1 referrers API. Anything else gets 405 `UNSUPPORTED`. No
/// authentication: it serves what the signed bundle holds, to the network it listens on.
public final class RegistryServer: Sendable {
    public struct TLSFiles: Sendable {
        public let certificate: String
        public let key: String

        public init(certificate: String, key: String) {
            self.certificate = certificate
            self.key = key
        }
    }

    /// The port it listens on (useful after binding port 0).
    public let port: Int
    private let channel: NIOAsyncChannel<Connection, Never>
    private let accepted = AcceptedConnections()
    private let content: any ServedContent
    private let log: @Sendable (ServedRequest) -> Void

    /// Binds `host:port`; ``run()`` then serves until its task is cancelled.
    /// - Parameter idleSeconds: a connection that neither receives nor sends anything this long is
    ///   closed (a client that connects and says nothing, or stops reading a blob).
    public init(
        host: String,
        port: Int,
        tls: TLSFiles?,
        idleSeconds: Int = 300,
        content: any ServedContent,
        log: @escaping @Sendable (ServedRequest) -> Void
    ) async throws {
        let context: NIOSSLContext?
        if let tls {
            do {
                let chain = try NIOSSLCertificate.fromPEMFile(tls.certificate).map { NIOSSLCertificateSource.certificate($0) }
                let key = try NIOSSLPrivateKey(file: tls.key, format: .pem)
                context = try NIOSSLContext(configuration: .makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key)))
            } catch {
                throw RegistryServerError.tlsFiles(certificate: tls.certificate, key: tls.key, detail: "\(error)")
            }
        } else {
            context = nil
        }
        let accepted = accepted
        do {
            channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                // A client that shuts its sending side after its request still gets the answer.
                .childChannelOption(.allowRemoteHalfClosure, value: true)
                .bind(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let context { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context)) }
                        try channel.pipeline.syncOperations.addHandlers(
                            IdleStateHandler(allTimeout: .seconds(Int64(idleSeconds))),
                            CloseWhenIdle(on: .all)
                        )
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                        let connection = try Connection(wrappingChannelSynchronously: channel)
                        accepted.adopt(connection)
                        return connection
                    }
                }
        } catch {
            throw RegistryServerError.listen(address: "\(host):\(port)", detail: "\(error)")
        }
        self.port = channel.channel.localAddress?.port ?? port
        self.content = content
        self.log = log
    }

    /// Serves connections until the task is cancelled; then closes the listening socket and every
    /// connection, and returns.
    public func run() async throws {
        // The accepting runs in a task of its own, which the caller's cancellation does not reach:
        // cancelled, it would stop taking connections the socket has already accepted, and NIO
        // traps on a connection dropped unhandled. Cancelling closes the socket instead; the loop
        // then takes what is left, and every connection is closed in order.
        let accepting = Task { await acceptUntilClosed() }
        await withTaskCancellationHandler {
            await accepting.value
        } onCancel: {
            channel.channel.close(promise: nil)
        }
    }

    private func acceptUntilClosed() async {
        await withDiscardingTaskGroup { group in
            try? await channel.executeThenClose { connections in
                for try await connection in connections {
                    accepted.release(connection)
                    group.addTask { await self.serve(connection) }
                }
            }
            group.cancelAll()  // each connection ends its current answer's wait for a request and closes
            // Accepted while the socket closed, never handed over: closed here.
            for connection in accepted.releaseAll() {
                try? await connection.executeThenClose { _, _ in }
            }
        }
    }

    private func serve(_ connection: Connection) async {
        // A connection that breaks (client gone, blob cut off) just ends; the log has the request.
        try? await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            requests: for try await part in inbound {
                switch part {
                case .head(let request): head = request
                case .body: continue  // nothing this server accepts has a body
                case .end:
                    guard let request = head else { break requests }
                    head = nil
                    try await answer(request, Outbound(writer: outbound, loop: connection.channel.eventLoop))
                    if !request.isKeepAlive { break requests }
                }
            }
            // Closing a connection drops what it has not sent yet: a blob answered to a client
            // that asked for `Connection: close` and reads slowly would arrive cut short. Shutting
            // the sending side first waits for those bytes.
            try? await connection.channel.close(mode: .output).get()
        }
    }

    // MARK: Answers

    /// A connection's sending side.
    private struct Outbound {
        let writer: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>
        let loop: any EventLoop

        func write(_ part: HTTPServerResponsePart) async throws {
            try await writer.write(part)
        }

        /// Writes a piece of a body, then waits until the event loop has taken it: the writer
        /// waits for a connection whose socket is full only once the event loop has seen it fill,
        /// and on a busy loop a task would otherwise queue piece after piece before that (six
        /// clients pulling at once took serve from 50 to 105–230 MiB). At most one piece per
        /// connection, and the socket's high-water mark, wait in memory.
        func writePiece(_ piece: ByteBuffer) async throws {
            try await writer.write(.body(.byteBuffer(piece)))
            try await loop.submit {}.get()
        }
    }

    /// Thrown to close a connection whose answer was cut off.
    private struct CutOff: Error {}

    private func answer(_ request: HTTPRequestHead, _ out: Outbound) async throws {
        let path = Self.path(of: request)
        guard request.method == .GET || request.method == .HEAD else {
            try await error(405, "UNSUPPORTED", "airlock serve is read-only: push with airlock push into a registry instead", request, out)
            return
        }
        if path == "/v2" || path == "/v2/" {
            try await send(200, body: Array("{}".utf8), type: "application/json", request, out)
            return
        }
        if path == "/v2/_catalog" {
            guard let (names, link) = try await page(content.repositories, request, out) else { return }
            try await send(200, body: encode(["repositories": names]), type: "application/json", headers: link, request, out)
            return
        }
        guard path.hasPrefix("/v2/") else {
            try await error(404, "NOT_FOUND", "not a registry path", request, out)
            return
        }
        let rest = String(path.dropFirst(4))
        if rest.hasSuffix("/tags/list") {
            let repository = String(rest.dropLast("/tags/list".count))
            guard let tags = content.tags(of: repository) else {
                try await error(404, "NAME_UNKNOWN", "repository \(repository) is not in this bundle", request, out)
                return
            }
            guard let (names, link) = try await page(tags, request, out) else { return }
            struct TagList: Encodable {
                let name: String
                let tags: [String]
            }
            try await send(200, body: encode(TagList(name: repository, tags: names)), type: "application/json", headers: link, request, out)
            return
        }
        if let split = rest.range(of: "/referrers/", options: .backwards) {
            let repository = String(rest[..<split.lowerBound])
            guard let all = content.referrers(repository, of: String(rest[split.upperBound...])) else {
                try await error(404, "NAME_UNKNOWN", "repository \(repository) is not in this bundle", request, out)
                return
            }
            // The API's one filter: `artifactType`, said in a header when applied.
            var headers = HTTPHeaders()
            var listed = all
            if let wanted = URLComponents(string: request.uri)?.queryItems?.first(where: { $0.name == "artifactType" })?.value {
                listed = all.filter { $0.artifactType == wanted }
                headers.add(name: "OCI-Filters-Applied", value: "artifactType")
            }
            struct Index: Encodable {
                let schemaVersion = 2
                let mediaType = "application/vnd.oci.image.index.v1+json"
                let manifests: [ServedReferrer]
            }
            try await send(
                200,
                body: encode(Index(manifests: listed)),
                type: "application/vnd.oci.image.index.v1+json",
                headers: headers,
                request,
                out
            )
            return
        }
        if let split = rest.range(of: "/manifests/", options: .backwards) {
            let repository = String(rest[..<split.lowerBound])
            let reference = String(rest[split.upperBound...])
            guard let manifest = content.manifest(repository, reference: reference) else {
                let code = content.tags(of: repository) == nil ? "NAME_UNKNOWN" : "MANIFEST_UNKNOWN"
                try await error(404, code, "\(repository):\(reference) is not in this bundle", request, out)
                return
            }
            var headers = HTTPHeaders()
            headers.add(name: "Docker-Content-Digest", value: manifest.digest)
            try await send(200, body: manifest.bytes, type: manifest.mediaType, headers: headers, request, out)
            return
        }
        if let split = rest.range(of: "/blobs/", options: .backwards) {
            let repository = String(rest[..<split.lowerBound])
            let digest = String(rest[split.upperBound...])
            guard let size = content.blobSize(repository, digest: digest) else {
                let code = content.tags(of: repository) == nil ? "NAME_UNKNOWN" : "BLOB_UNKNOWN"
                try await error(404, code, "blob \(digest) of \(repository) is not in this bundle", request, out)
                return
            }
            try await sendBlob(repository, digest: digest, size: size, body: request.method == .GET, request, out)
            return
        }
        try await error(404, "NOT_FOUND", "not a registry path", request, out)
    }

    private func sendBlob(
        _ repository: String,
        digest: String,
        size: Int64,
        body: Bool,
        _ request: HTTPRequestHead,
        _ out: Outbound
    ) async throws {
        var headers = HTTPHeaders()
        headers.add(name: "Docker-Content-Digest", value: digest)
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
            record(request, status, 0, nil)
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
                position += Int64(chunk.count)
                let from = max(start, chunkStart), to = min(end + 1, position)
                guard from < to else { continue }
                let piece = chunk[Int(from - chunkStart)..<Int(to - chunkStart)]
                try await out.writePiece(ByteBuffer(bytes: piece))
                sent += Int64(piece.count)
            }
        } catch {
            record(request, status, sent, String(describing: error))
            throw CutOff()
        }
        try await out.write(.end(nil))
        record(request, status, sent, nil)
    }

    /// ``page(_:uri:)`` for `request`; nil once it has answered 400 for an `n` that is not a whole number.
    private func page(_ all: [String], _ request: HTTPRequestHead, _ out: Outbound) async throws -> ([String], HTTPHeaders)? {
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

    private func send(
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
        record(request, status, body ? Int64(bytes.count) : 0, nil)
    }

    /// The status line and headers, with the body's type and length, and `Connection: close` when
    /// the client asked for it.
    private func writeHead(
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
        if !request.isKeepAlive { headers.add(name: "Connection", value: "close") }
        try await out.write(.head(HTTPResponseHead(version: request.version, status: .init(statusCode: status), headers: headers)))
    }

    private func error(_ status: Int, _ code: String, _ message: String, _ request: HTTPRequestHead, _ out: Outbound) async throws {
        struct Errors: Encodable {
            struct Entry: Encodable {
                let code: String
                let message: String
            }
            let errors: [Entry]
        }
        try await send(status, body: encode(Errors(errors: [.init(code: code, message: message)])), type: "application/json", request, out)
    }

    private func encode(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array((try? encoder.encode(value)) ?? Data("{}".utf8))
    }

    /// The request's path, without its query.
    private static func path(of request: HTTPRequestHead) -> String {
        String(request.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
    }

    private func record(_ request: HTTPRequestHead, _ status: Int, _ bytes: Int64, _ failure: String?) {
        log(ServedRequest(method: request.method.rawValue, path: Self.path(of: request), status: status, bytes: bytes, failure: failure))
    }
}

typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

/// Connections the socket has accepted and the accepting loop has not taken yet. NIO traps when
/// such a connection is dropped without being closed, which happens to those accepted while the
/// socket closes; held here, they are closed instead.
///
/// `@unchecked Sendable`: `open` is guarded by `lock`.
final class AcceptedConnections: @unchecked Sendable {
    private let lock = NSLock()
    private var open: [ObjectIdentifier: Connection] = [:]

    func adopt(_ connection: Connection) {
        lock.withLock { open[ObjectIdentifier(connection.channel)] = connection }
    }

    func release(_ connection: Connection) {
        _ = lock.withLock { open.removeValue(forKey: ObjectIdentifier(connection.channel)) }
    }

    func releaseAll() -> [Connection] {
        lock.withLock {
            defer { open.removeAll() }
            return Array(open.values)
        }
    }
}
