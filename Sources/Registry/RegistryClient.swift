import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// A client of one registry's distribution API (`/v2/`): authentication (basic, bearer tokens
/// from `WWW-Authenticate`, cached per scope), retries with backoff and jitter on 5xx, 429 and
/// transport errors, TLS with extra CAs, plain HTTP only for named hosts, proxies from the
/// environment.
public final class RegistryClient: Sendable {
    /// `host[:port]` as the user named it.
    public let host: String
    /// `https://host[:port]` (or `http://`), Docker Hub mapped to `registry-1.docker.io`.
    public let baseURL: String
    let http: HTTPClient
    let session: AuthSession
    let retryCounter = RetryCounter()
    let proxyURL: String?
    /// TLS for blobs fetched over a connection of their own; nil when the configuration does not
    /// load (the pooled client then reports why).
    let blobTLS: NIOSSLContext?
    static let maxAttempts = 5

    public init(host: String, options: TransportOptions, credentials: CredentialStore = CredentialStore()) throws {
        self.host = host
        let plain = options.usesPlainHTTP(host)
        let apiHost = host == "docker.io" ? "registry-1.docker.io" : host
        baseURL = (plain ? "http://" : "https://") + apiHost
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.additionalTrustRoots = options.caFiles.map { .file($0) }
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tls, redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(10), read: .seconds(300)))
        // Connection failures come straight back and are retried here, with backoff, like every
        // other transient failure (AsyncHTTPClient would otherwise retry silently until its
        // connect timeout, even for a TLS error that no retry can fix).
        configuration.connectionPool.retryConnectionEstablishment = false
        blobTLS = try? NIOSSLContext(configuration: tls)
        proxyURL = options.proxy(for: apiHost, plainHTTP: plain)
        if let proxyURL {
            guard let url = URLComponents(string: proxyURL), let proxyHost = url.host else {
                throw RegistryError.unreachable(host: host, detail: "proxy \(proxyURL) is not a URL such as http://proxy:3128")
            }
            configuration.proxy = .server(host: proxyHost, port: url.port ?? 3128)
        }
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        session = AuthSession(credential: try credentials.credential(for: host))
    }

    /// Closes connections. Call once when done.
    public func shutdown() async {
        try? await http.shutdown()
    }

    /// A response with its body collected (small answers only).
    struct Response: Sendable {
        let status: Int
        let headers: HTTPHeaders
        let body: [UInt8]

        func header(_ name: String) -> String? { headers.first(name: name) }

        /// The registry's error text from a JSON error body, for messages.
        var errorDetail: String {
            struct Errors: Decodable {
                struct Entry: Decodable {
                    var code: String?
                    var message: String?
                }
                var errors: [Entry]?
            }
            if let parsed = try? JSONDecoder().decode(Errors.self, from: Data(body)), let first = parsed.errors?.first {
                return [first.code, first.message].compactMap { $0 }.joined(separator: ": ")
            }
            return ""
        }
    }

    typealias BodyFactory = @Sendable () throws -> HTTPClientRequest.Body

    /// Sends a request, authenticating on a 401 challenge and retrying what can be retried.
    func send(_ method: HTTPMethod, _ url: String, headers: HTTPHeaders = [:], scopes: [String], body: BodyFactory? = nil,
              operation: String, collectLimit: Int = 8 << 20) async throws -> Response {
        var attempt = 0
        var authenticated = false
        while true {
            attempt += 1
            var request = HTTPClientRequest(url: url)
            request.method = method
            request.headers = headers
            if let authorization = await session.header(for: scopes) {
                request.headers.replaceOrAdd(name: "Authorization", value: authorization)
            }
            request.body = try body?()
            let response: HTTPClientResponse
            let bytes: ByteBuffer
            do {
                response = try await http.execute(request, timeout: .seconds(900))
                bytes = try await response.body.collect(upTo: collectLimit)
            } catch let error as RegistryError {
                throw error
            } catch {
                let classified = classify(error)
                if case .unreachable = classified, attempt < Self.maxAttempts {
                    try await backoff(attempt: attempt, retryAfter: nil)
                    continue
                }
                throw classified
            }
            let answer = Response(status: Int(response.status.code), headers: response.headers, body: Array(buffer: bytes))
            if answer.status == 401, !authenticated, let header = answer.header("WWW-Authenticate"), let challenge = AuthChallenge(header: header) {
                try await authenticate(challenge, scopes: scopes)
                authenticated = true
                attempt -= 1
                continue
            }
            if answer.status == 401 {
                let credential = session.credential
                throw RegistryError.unauthorized(host: host, detail: credential.map { "\($0) was not accepted" } ?? "no credentials configured")
            }
            if [429, 500, 502, 503, 504].contains(answer.status), attempt < Self.maxAttempts {
                try await backoff(attempt: attempt, retryAfter: answer.header("Retry-After").flatMap(Double.init))
                continue
            }
            return answer
        }
    }

    /// How many requests were sent again after a transient failure.
    public var retries: Int {
        get async { await retryCounter.count }
    }

    /// Exponential backoff with equal jitter: 0.25, 0.5, 1, 2 s, each half fixed and half random,
    /// so four retries span about 2–4 s (a registry restart); or the server's Retry-After (≤ 60 s).
    func backoff(attempt: Int, retryAfter: Double?) async throws {
        await retryCounter.increment()
        let cap = 0.25 * pow(2, Double(attempt - 1))
        let delay = retryAfter.map { min($0, 60) } ?? (cap / 2 + Double.random(in: 0...(cap / 2)))
        try await Task.sleep(nanoseconds: UInt64(delay * 1_000_000_000))
    }

    /// Answers a challenge: basic needs credentials, bearer fetches a token for the scopes.
    private func authenticate(_ challenge: AuthChallenge, scopes: [String]) async throws {
        await session.remember(challenge)
        switch challenge.scheme {
        case .basic:
            guard await session.basicHeader() != nil else {
                throw RegistryError.unauthorized(host: host, detail: "it asks for a username and password and none is configured")
            }
        case .bearer:
            try await fetchToken(challenge, scopes: scopes)
        }
    }

    private func fetchToken(_ challenge: AuthChallenge, scopes: [String]) async throws {
        guard let realm = challenge.realm, var components = URLComponents(string: realm) else {
            throw RegistryError.protocolViolation(host: host, detail: "bearer challenge without a realm")
        }
        let credential = session.credential
        var request: HTTPClientRequest
        if case .identityToken(let refresh) = credential {
            request = HTTPClientRequest(url: realm)
            request.method = .POST
            var form = URLComponents()
            form.queryItems = [URLQueryItem(name: "grant_type", value: "refresh_token"), URLQueryItem(name: "refresh_token", value: refresh),
                               URLQueryItem(name: "client_id", value: "airlock")]
                + (challenge.service.map { [URLQueryItem(name: "service", value: $0)] } ?? [])
                + [URLQueryItem(name: "scope", value: scopes.joined(separator: " "))]
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: form.percentEncodedQuery ?? ""))
        } else {
            var items = components.queryItems ?? []
            if let service = challenge.service { items.append(URLQueryItem(name: "service", value: service)) }
            items += scopes.map { URLQueryItem(name: "scope", value: $0) }
            components.queryItems = items
            request = HTTPClientRequest(url: components.string ?? realm)
            if let basic = await session.basicHeader() { request.headers.add(name: "Authorization", value: basic) }
        }
        let response: HTTPClientResponse
        let body: ByteBuffer
        do {
            response = try await http.execute(request, timeout: .seconds(60))
            body = try await response.body.collect(upTo: 1 << 20)
        } catch {
            throw classify(error)
        }
        guard response.status == .ok else {
            if response.status == .unauthorized || response.status == .forbidden {
                throw RegistryError.unauthorized(host: host, detail: credential.map { "token service refused \($0)" } ?? "token service wants credentials")
            }
            throw RegistryError.status(host: host, operation: "token request", status: Int(response.status.code), detail: "")
        }
        struct TokenAnswer: Decodable {
            var token: String?
            var access_token: String?
            var expires_in: Double?
        }
        guard let answer = try? JSONDecoder().decode(TokenAnswer.self, from: Data(body.readableBytesView)),
              let token = answer.token ?? answer.access_token, !token.isEmpty else {
            throw RegistryError.protocolViolation(host: host, detail: "token service answered without a token")
        }
        await session.store(token: token, lifetime: answer.expires_in ?? 60, challenge: challenge, scopes: scopes)
    }

    /// Turns a transport error into a person's cause.
    func classify(_ error: any Error) -> RegistryError {
        let text = String(describing: error)
        let lowered = text.lowercased()
        if lowered.contains("certificate") || lowered.contains("handshake") || lowered.contains("ssl") || lowered.contains("tls") {
            let detail = lowered.contains("verify") || lowered.contains("certificate") ? "the server's certificate is not trusted" : compact(text)
            return .tls(host: host, detail: detail)
        }
        let cause: String
        if lowered.contains("connection refused") {
            cause = "connection refused"
        } else if lowered.contains("timeout") || lowered.contains("timed out") {
            cause = "timed out"
        } else if lowered.contains("dns") || lowered.contains("name resolution") || lowered.contains("host not found") || lowered.contains("nodename") {
            cause = "host name not found"
        } else if lowered.contains("remoteconnectionclosed") || lowered.contains("connection reset") {
            cause = "the connection was closed"
        } else {
            cause = compact(text)
        }
        if let proxyURL { return .unreachable(host: host, detail: "through proxy \(proxyURL): \(cause)") }
        return .unreachable(host: host, detail: cause)
    }

    private func compact(_ text: String) -> String {
        let line = text.split(separator: "\n").first.map(String.init) ?? text
        return line.count > 200 ? String(line.prefix(200)) + "…" : line
    }

    /// `GET /v2/`: checks reachability, TLS and credentials before any transfer.
    public func ping(repository: String? = nil, push: Bool = false) async throws {
        let scopes = repository.map { ["repository:\($0):\(push ? "pull,push" : "pull")"] } ?? []
        let answer = try await send(.GET, "\(baseURL)/v2/", scopes: scopes, operation: "GET /v2/")
        guard answer.status == 200 else {
            throw RegistryError.status(host: host, operation: "GET /v2/", status: answer.status, detail: answer.errorDetail)
        }
        // A bearer registry answers /v2/ for any token: get one for the push scope now, so wrong
        // credentials fail before anything is sent.
        if let repository, push {
            let probe = try await send(.HEAD, "\(baseURL)/v2/\(repository)/blobs/sha256:\(String(repeating: "0", count: 64))",
                                       scopes: scopes, operation: "HEAD blob")
            if probe.status == 403 { throw RegistryError.denied(host: host, repository: repository, detail: probe.errorDetail) }
        }
    }

    /// Resolves a `Location` header (absolute, or relative to the registry).
    func resolve(_ location: String) -> String {
        if location.hasPrefix("http://") || location.hasPrefix("https://") { return location }
        if location.hasPrefix("/") { return baseURL + location }
        return baseURL + "/" + location
    }
}
