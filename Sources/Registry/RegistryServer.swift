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
    let content: any ServedContent
    let log: @Sendable (ServedRequest) -> Void

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
    struct Outbound {
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
    struct CutOff: Error {}

    private func answer(_ request: HTTPRequestHead, _ out: Outbound) async throws {
        guard request.method == .GET || request.method == .HEAD else {
            try await error(405, "UNSUPPORTED", "airlock serve is read-only: push with airlock push into a registry instead", request, out)
            return
        }
        switch ServerRoute(path: Self.path(of: request)) {
        case .base:
            try await send(200, body: Array("{}".utf8), type: "application/json", request, out)
        case .catalog:
            guard let (names, link) = try await page(content.repositories, request, out) else { return }
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
