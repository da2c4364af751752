import AsyncHTTPClient
import Foundation
import Hashing
import NIOCore
import NIOHTTP1
import NIOSSL
import OCI

/// Plain HTTPS downloads (classic Helm chart repositories) with the same TLS and proxy settings.
public final class HTTPFetcher: Sendable {
    let http: HTTPClient
    let userAgent: String

    public init(options: TransportOptions, host: String, plainHTTP: Bool) {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.additionalTrustRoots = options.caFiles.map { .file($0) }
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tls,
            redirectConfiguration: .follow(max: 5, allowCycles: false),
            timeout: .init(connect: .seconds(10), read: .seconds(300))
        )
        configuration.connectionPool.retryConnectionEstablishment = false
        if let proxy = options.proxy(for: host, plainHTTP: plainHTTP), let setting = ProxySetting(proxy) {
            configuration.proxy =
                setting.username.map {
                    .server(host: setting.host, port: setting.port, authorization: .basic(username: $0, password: setting.password ?? ""))
                } ?? .server(host: setting.host, port: setting.port)
        }
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        userAgent = options.userAgent
    }

    public func shutdown() async { try? await http.shutdown() }

    /// GETs `url`, at most `limit` bytes.
    public func get(_ url: String, limit: Int) async throws -> [UInt8] {
        let host = URLComponents(string: url)?.host ?? url
        let response: HTTPClientResponse
        let body: ByteBuffer
        do {
            var request = HTTPClientRequest(url: url)
            request.headers.add(name: "User-Agent", value: userAgent)
            response = try await http.execute(request, timeout: .seconds(600))
            body = try await response.body.collect(upTo: limit)
        } catch {
            let text = String(describing: error).lowercased()
            if text.contains("certificate") || text.contains("handshake") || text.contains("ssl") {
                throw RegistryError.tls(host: host, detail: "the server's certificate is not trusted")
            }
            throw RegistryError.unreachable(host: host, detail: scrubbingCredentials(String(describing: error)))
        }
        guard response.status == .ok else {
            throw RegistryError.status(host: host, operation: "GET \(url)", status: Int(response.status.code), detail: "")
        }
        return Array(buffer: body)
    }
}
