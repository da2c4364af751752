import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// A blob GET's answer, whichever connection carries it: status, headers, and the body chunk by
/// chunk (nil once it is complete; a connection that ends before that throws).
struct BlobAnswer {
    let status: Int
    let headers: HTTPHeaders
    let nextChunk: () async throws -> ByteBuffer?
}

/// One GET over a connection of its own, for a big blob. The socket is read up to 256 KiB at a
/// time; AsyncHTTPClient's pooled connections read at most 64 KiB, and every read also sends an
/// ACK that the kernel processes on both ends. Pulling `scripts/bench`'s 1 GB from a loopback
/// registry, airlock's CPU time went from 2.95 to 2.53 s (1 MiB reads: 2.33 s, but 20 MiB more
/// peak RSS, in buffers waiting for the bundle writer). The connection is closed after the
/// answer (a big blob amortises the new connection). Proxies are not spoken to here: a proxied
/// download goes through AsyncHTTPClient.
enum BlobConnection {
    static let readLimit = 256 << 10

    /// Sends `GET url` with `headers` and hands the answer to `body`, which reads the body from it.
    static func get<T>(
        _ url: String,
        headers: HTTPHeaders,
        tls: NIOSSLContext?,
        readTimeout: TimeAmount,
        _ body: (BlobAnswer) async throws -> T
    ) async throws -> T {
        guard let components = URLComponents(string: url), let rawHost = components.host, !rawHost.isEmpty,
            let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https"
        else {
            throw RegistryError.protocolViolation(host: url, detail: "cannot fetch \(url): not an http(s) URL")
        }
        let secure = scheme == "https"
        let host = rawHost.hasPrefix("[") ? String(rawHost.dropFirst().dropLast()) : rawHost
        let port = components.port ?? (secure ? 443 : 80)
        let literal = (try? SocketAddress(ipAddress: host, port: port)) != nil
        var target = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        if let query = components.percentEncodedQuery { target += "?" + query }
        let hostHeader = (host.contains(":") ? "[\(host)]" : host) + (components.port.map { ":\($0)" } ?? "")
        if secure && tls == nil {
            throw RegistryError.tls(host: hostHeader, detail: "no TLS configuration for \(url)")
        }

        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(10))
            .channelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64 << 10, initial: 64 << 10, maximum: readLimit))
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if secure, let tls {
                        try pipeline.addHandler(NIOSSLClientHandler(context: tls, serverHostname: literal ? nil : host))
                    }
                    try pipeline.addHandlers(IdleStateHandler(readTimeout: readTimeout), CloseWhenIdle(on: .read))
                    try pipeline.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(
                        wrappingChannelSynchronously: channel,
                        configuration: .init(backPressureStrategy: .init(lowWatermark: 1, highWatermark: 2))
                    )
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            var request = HTTPRequestHead(version: .http1_1, method: .GET, uri: target, headers: headers)
            request.headers.replaceOrAdd(name: "Host", value: hostHeader)
            request.headers.replaceOrAdd(name: "Connection", value: "close")
            try await outbound.write(.head(request))
            try await outbound.write(.end(nil))
            var parts = inbound.makeAsyncIterator()
            var head: HTTPResponseHead
            repeat {
                guard case .head(let next) = try await parts.next() else {
                    throw RegistryError.unreachable(host: hostHeader, detail: "the connection was closed")
                }
                head = next
            } while head.status.code < 200  // 1xx: the answer follows
            var ended = false
            let answer = BlobAnswer(status: Int(head.status.code), headers: head.headers) {
                guard !ended else { return nil }
                switch try await parts.next() {
                case .body(let chunk): return chunk
                case .end: ended = true; return nil
                case .head, nil: throw RegistryError.unreachable(host: hostHeader, detail: "the connection was closed")
                }
            }
            return try await body(answer)
        }
    }
}
