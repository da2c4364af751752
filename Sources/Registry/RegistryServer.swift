import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// A read-only registry (the pull half of the distribution API, as docker-registry answers it):
/// `GET`/`HEAD` of `/v2/`, manifests by tag or digest, blobs (with `Range`), tag lists and the
/// catalog (paged), and the OCI 1.1 referrers API. Anything else gets 405 `UNSUPPORTED`. With
/// `htpasswd`, basic authentication (bcrypt); `/healthz` answers without it. Limits on
/// connections and request sizes; on shutdown, answers in flight finish (for a while).
public final class RegistryServer: Sendable {
    /// How the server runs: time-outs, limits, authentication.
    public struct Settings: Sendable {
        /// A connection that neither receives nor sends anything this long is closed (a client
        /// that connects and says nothing, or stops reading a blob).
        public var idleSeconds = 300
        /// Connections served at once; one more is answered 503 and closed.
        public var maxConnections = 512
        /// On shutdown, how long answers in flight may take to finish before their connections
        /// are closed.
        public var drainSeconds = 30
        /// A request's line and headers, and its body (nothing served takes one), at most.
        public var maxHeaderBytes = 16 << 10
        public var maxBodyBytes = 64 << 10
        public var htpasswd: Htpasswd?

        public init() {}
    }

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
    let live = LiveConnections()
    let settings: Settings
    let content: any ServedContent
    let log: @Sendable (ServedRequest) -> Void

    /// Binds `host:port`; ``run()`` then serves until its task is cancelled.
    public init(
        host: String,
        port: Int,
        tls: TLSFiles?,
        settings: Settings = Settings(),
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
                            IdleStateHandler(allTimeout: .seconds(Int64(settings.idleSeconds))),
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
        self.settings = settings
        self.content = content
        self.log = log
    }

    /// Serves connections until the task is cancelled; then closes the listening socket, lets the
    /// answers in flight finish (at most `drainSeconds`), closes every connection, and returns.
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
        let deadline = DeadlineHolder()
        await withDiscardingTaskGroup { group in
            try? await channel.executeThenClose { connections in
                for try await connection in connections {
                    accepted.release(connection)
                    group.addTask { await self.serve(connection) }
                }
            }
            // Draining: idle connections close now, busy ones after their answer; whatever is
            // still open when the time is up is closed.
            live.drain()
            let live = live
            let seconds = settings.drainSeconds
            deadline.task = Task {
                try? await Task.sleep(for: .seconds(seconds))
                if !Task.isCancelled { live.closeAll() }
            }
            // Accepted while the socket closed, never handed over: closed here.
            for connection in accepted.releaseAll() {
                try? await connection.executeThenClose { _, _ in }
            }
        }
        deadline.task?.cancel()
    }

    private func serve(_ connection: Connection) async {
        let id = live.open(connection.channel)
        defer { live.close(id) }
        let overLimit = live.count > settings.maxConnections
        let client = connection.channel.remoteAddress?.ipAddress ?? "?"
        // A connection that breaks (client gone, blob cut off) just ends; the log has the request.
        try? await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            var started = Date()
            var bodyBytes = 0
            requests: for try await part in inbound {
                switch part {
                case .head(let request):
                    head = request
                    started = Date()
                    bodyBytes = 0
                    live.busy(id, true)
                case .body(let buffer):
                    // Nothing this server accepts has a body: a large one is refused, not read.
                    bodyBytes += buffer.readableBytes
                    guard bodyBytes > settings.maxBodyBytes, let request = head else { continue }
                    let out = Outbound(writer: outbound, loop: connection.channel.eventLoop, client: client, started: started)
                    try await refuse(413, "SIZE_INVALID", "a request body of more than \(settings.maxBodyBytes) bytes", request, out)
                    break requests
                case .end:
                    guard let request = head else { break requests }
                    head = nil
                    var out = Outbound(writer: outbound, loop: connection.channel.eventLoop, client: client, started: started)
                    out.closing = !request.isKeepAlive || live.isDraining
                    if overLimit {
                        try await refuse(503, "TOOMANYREQUESTS", "more than \(settings.maxConnections) connections at once", request, out)
                        break requests
                    }
                    try await answer(request, out)
                    live.busy(id, false)
                    if out.closing || live.isDraining { break requests }
                }
            }
            // Closing a connection drops what it has not sent yet: a blob answered to a client
            // that asked for `Connection: close` and reads slowly would arrive cut short. Shutting
            // the sending side first waits for those bytes.
            try? await connection.channel.close(mode: .output).get()
        }
    }

    // MARK: Answers

    /// A connection's sending side, and who the request is from.
    struct Outbound {
        let writer: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>
        let loop: any EventLoop
        let client: String
        let started: Date
        var user: String?
        /// The connection closes after this answer (`Connection: close` is sent).
        var closing = false

        init(writer: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>, loop: any EventLoop, client: String, started: Date) {
            self.writer = writer
            self.loop = loop
            self.client = client
            self.started = started
        }

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
    struct CutOff: Error {}

    private func answer(_ request: HTTPRequestHead, _ given: Outbound) async throws {
        var out = given
        let headerBytes = request.uri.utf8.count + request.headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 4 }
        guard request.uri.utf8.count <= 8192 else {
            try await error(414, "NAME_INVALID", "the request's URI is longer than 8192 bytes", request, out)
            return
        }
        guard headerBytes <= settings.maxHeaderBytes else {
            try await error(431, "SIZE_INVALID", "the request's headers are larger than \(settings.maxHeaderBytes) bytes", request, out)
            return
        }
        guard request.method == .GET || request.method == .HEAD else {
            try await error(405, "UNSUPPORTED", "airlock serve is read-only: push with airlock push into a registry instead", request, out)
            return
        }
        let route = ServerRoute(path: Self.path(of: request))
        if route == .health {
            try await send(200, body: Array("ok\n".utf8), type: "text/plain", request, out)
            return
        }
        if let htpasswd = settings.htpasswd {
            guard let user = htpasswd.user(authorization: request.headers.first(name: "Authorization")) else {
                var headers = HTTPHeaders()
                headers.add(name: "WWW-Authenticate", value: "Basic realm=\"airlock serve\"")
                try await send(
                    401,
                    body: encode(ErrorList("UNAUTHORIZED", "authentication required")),
                    type: "application/json",
                    headers: headers,
                    request,
                    out
                )
                return
            }
            out.user = user
        }
        switch route {
        case .health:
            return
        case .base:
            try await send(200, body: Array("{}".utf8), type: "application/json", request, out)
        case .catalog:
            guard let (names, link) = try await page(content.repositories.map(\.path), request, out) else { return }
            try await send(200, body: encode(["repositories": names]), type: "application/json", headers: link, request, out)
        case .tags(let repository):
            try await answerTags(repository, request, out)
        case .referrers(let repository, let digest):
            try await answerReferrers(repository, of: digest, request, out)
        case .manifest(let repository, let reference):
            try await answerManifest(repository, reference: reference, request, out)
        case .blob(let repository, let digest):
            try await answerBlob(repository, digest: digest, request, out)
        case .unknown:
            try await error(404, "NOT_FOUND", "not a registry path", request, out)
        }
    }
}

typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

/// Holds the task that ends a drain that takes too long.
final class DeadlineHolder: @unchecked Sendable {
    // @unchecked: set once inside the task group, read after it has ended.
    var task: Task<Void, Never>?
}

/// Connections being served: how many, which are answering a request, and whether the server
/// is draining (then idle ones are closed at once, busy ones after their answer).
///
/// `@unchecked Sendable`: all state is guarded by `lock`.
final class LiveConnections: @unchecked Sendable {
    private let lock = NSLock()
    private var channels: [Int: (channel: any Channel, busy: Bool)] = [:]
    private var next = 0
    private var draining = false

    func open(_ channel: any Channel) -> Int {
        lock.withLock {
            next += 1
            channels[next] = (channel, false)
            return next
        }
    }

    func close(_ id: Int) { _ = lock.withLock { channels.removeValue(forKey: id) } }

    var count: Int { lock.withLock { channels.count } }
    var isDraining: Bool { lock.withLock { draining } }

    func busy(_ id: Int, _ busy: Bool) {
        lock.withLock { channels[id]?.busy = busy }
    }

    /// Starts draining: closes every connection that is not answering.
    func drain() {
        let idle = lock.withLock {
            draining = true
            return channels.values.filter { !$0.busy }.map(\.channel)
        }
        for channel in idle { channel.close(promise: nil) }
    }

    func closeAll() {
        for channel in lock.withLock({ channels.values.map(\.channel) }) { channel.close(promise: nil) }
    }
}

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
