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
    /// The proxy as messages name it (never with its credentials).
    let proxyURL: String?
    let userAgent: String
    /// `plain-http` hosts the user named: an upload Location may point at one of them.
    let namedPlainHosts: Set<String>
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
            tlsConfiguration: tls,
            redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(10), read: .seconds(300))
        )
        // Connection failures come straight back and are retried here, with backoff, like every
        // other transient failure (AsyncHTTPClient would otherwise retry silently until its
        // connect timeout, even for a TLS error that no retry can fix).
        configuration.connectionPool.retryConnectionEstablishment = false
        blobTLS = try? NIOSSLContext(configuration: tls)
        userAgent = options.userAgent
        namedPlainHosts = options.plainHTTPHosts
        if let proxy = options.proxy(for: apiHost, plainHTTP: plain) {
            guard let setting = ProxySetting(proxy) else {
                throw RegistryError.unreachable(
                    host: host,
                    detail: "proxy \(scrubbingCredentials(proxy)) is not a URL such as http://proxy:3128"
                )
            }
            // Credentials in HTTPS_PROXY=http://user:pass@proxy:3128 go to the proxy as
            // Proxy-Authorization, and the URL is never shown with them.
            if let username = setting.username {
                configuration.proxy = .server(
                    host: setting.host,
                    port: setting.port,
                    authorization: .basic(username: username, password: setting.password ?? "")
                )
            } else {
                configuration.proxy = .server(host: setting.host, port: setting.port)
            }
            proxyURL = setting.display
        } else {
            proxyURL = nil
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

        /// A token service's error text: its JSON `errors`/`details`/`error_description`, or the
        /// start of a plain-text body.
        var serviceDetail: String {
            if !errorDetail.isEmpty { return errorDetail }
            if let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] {
                for key in ["details", "detail", "error_description", "message", "error"] {
                    if let text = object[key] as? String, !text.isEmpty { return text }
                }
            }
            let text = String(decoding: body.prefix(200), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            return text.hasPrefix("<") ? "" : text
        }

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
    ///
    /// The first request to a registry pings `/v2/` to learn its challenge, as the mature clients
    /// do: from then on credentials (or a token for the scopes) go with every request, so
    /// registries that answer anonymous requests with 404 or 403, or 401 without a challenge,
    /// still get them. Credentials go only to the registry's own origin. `retryTransport: false`
    /// leaves a broken connection to the caller (an upload session cannot be resumed blindly).
    func send(
        _ method: HTTPMethod,
        _ url: String,
        headers: HTTPHeaders = [:],
        scopes: [String],
        body: BodyFactory? = nil,
        operation: String,
        collectLimit: Int = 8 << 20,
        retryTransport: Bool = true
    ) async throws -> Response {
        try await learnChallenge()
        var attempt = 0
        var authenticated = false
        var url = url
        var redirects = 0
        var ownOrigin = isRegistryOrigin(url)
        while true {
            attempt += 1
            var request = HTTPClientRequest(url: url)
            request.method = method
            request.headers = headers
            request.headers.replaceOrAdd(name: "User-Agent", value: userAgent)
            if ownOrigin, let authorization = try await authorization(for: scopes) {
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
                if case .unreachable = classified, retryTransport, attempt < Self.maxAttempts {
                    try await backoff(attempt: attempt, retryAfter: nil)
                    continue
                }
                throw classified
            }
            let answer = Response(status: Int(response.status.code), headers: response.headers, body: Array(buffer: bytes))
            // A manifest or tag list behind a CDN may answer with a redirect: GET and HEAD follow
            // it (credentials only while it stays on the registry's origin).
            if [301, 302, 303, 307, 308].contains(answer.status), method == .GET || method == .HEAD, redirects < 5,
                let location = answer.header("Location")
            {
                redirects += 1
                url = resolve(location)
                ownOrigin = isRegistryOrigin(url)
                attempt -= 1
                continue
            }
            if answer.status == 401, ownOrigin {
                // Every challenge the answer carries counts (a proxy may offer Negotiate first);
                // without one, the challenge /v2/ gave stands in (gcr.io-style bare 401s).
                let given = AuthChallenge.best(in: answer.headers["WWW-Authenticate"])
                let remembered = await session.challenge
                if !authenticated, let challenge = given ?? remembered {
                    try await authenticate(challenge, scopes: scopes)
                    authenticated = true
                    attempt -= 1
                    continue
                }
                if given?.error == "insufficient_scope" || remembered?.error == "insufficient_scope" {
                    throw RegistryError.unauthorized(
                        host: host,
                        detail: "the credentials are valid but lack permission for \(scopes.joined(separator: " "))"
                    )
                }
                let credential = session.credential
                throw RegistryError.unauthorized(
                    host: host,
                    detail: credential.map { "\($0) was not accepted" } ?? "no credentials configured"
                )
            }
            if answer.status == 429 {
                let wait = rateLimitWait(answer)
                if (wait.seconds ?? 0) > 60 || attempt >= Self.maxAttempts {
                    throw RegistryError.rateLimited(host: host, until: wait.until, detail: wait.detail)
                }
                try await backoff(attempt: attempt, retryAfter: wait.seconds)
                continue
            }
            if [500, 502, 503, 504].contains(answer.status), retryTransport, attempt < Self.maxAttempts {
                try await backoff(attempt: attempt, retryAfter: answer.header("Retry-After").flatMap(Double.init))
                continue
            }
            return answer
        }
    }

    /// Pings `/v2/` once per client to learn how the registry authenticates.
    private func learnChallenge() async throws {
        guard await session.claimPing() else { return }
        var request = HTTPClientRequest(url: "\(baseURL)/v2/")
        request.headers.add(name: "User-Agent", value: userAgent)
        guard let response = try? await http.execute(request, timeout: .seconds(60)) else { return }
        _ = try? await response.body.collect(upTo: 1 << 16)
        if response.status == .unauthorized, let challenge = AuthChallenge.best(in: response.headers["WWW-Authenticate"]) {
            await session.remember(challenge)
        }
    }

    /// The Authorization to send for `scopes`: basic credentials once the registry asked for
    /// them, or a bearer token (fetched now, or again when the cached one expired).
    func authorizationForBlob(_ scopes: [String]) async throws -> String? {
        try await learnChallenge()
        return try await authorization(for: scopes)
    }

    private func authorization(for scopes: [String]) async throws -> String? {
        if let header = await session.header(for: scopes) { return header }
        guard let challenge = await session.challenge, challenge.scheme == .bearer, !(await session.hasToken(for: scopes)) else {
            return nil
        }
        try await fetchToken(challenge, scopes: scopes)
        return await session.header(for: scopes)
    }

    /// Whether `url` is the registry's own origin (scheme, host and port): the only place
    /// credentials go.
    func isRegistryOrigin(_ url: String) -> Bool {
        guard let target = URLComponents(string: url), let base = URLComponents(string: baseURL) else { return false }
        return target.scheme?.lowercased() == base.scheme?.lowercased() && target.host?.lowercased() == base.host?.lowercased()
            && effectivePort(target) == effectivePort(base)
    }

    private func effectivePort(_ url: URLComponents) -> Int {
        url.port ?? (url.scheme?.lowercased() == "https" ? 443 : 80)
    }

    /// How long a 429 asks to wait: `Retry-After` in seconds or as an HTTP date, else the
    /// `RateLimit-Reset`/`RateLimit` window when nothing remains, else a short backoff.
    private func rateLimitWait(_ answer: Response) -> (seconds: Double?, until: String, detail: String) {
        var seconds: Double?
        if let value = answer.header("Retry-After") {
            if let number = Double(value.trimmingCharacters(in: .whitespaces)) {
                seconds = number
            } else if let date = httpDate(value) {
                seconds = max(0, date.timeIntervalSinceNow)
            }
        }
        if seconds == nil, let reset = answer.header("RateLimit-Reset").flatMap({ Double($0.split(separator: ";").first ?? "") }) {
            seconds = reset
        }
        let until = seconds.map { ISO8601DateFormatter().string(from: Date().addingTimeInterval($0)) } ?? "later"
        var detail = ""
        if let limit = answer.header("RateLimit-Limit") {
            detail = "limit \(limit.split(separator: ";").first ?? "")"
            if let window = limit.split(separator: "w=").last, let window = Int(window) { detail += " per \(window) s" }
            if let remaining = answer.header("RateLimit-Remaining") {
                detail += ", \(remaining.split(separator: ";").first ?? "") remaining"
            }
        }
        return (seconds, until, detail)
    }

    private func httpDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            formatter.dateFormat = format
            if let date = formatter.date(from: text) { return date }
        }
        return nil
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
            form.queryItems =
                [
                    URLQueryItem(name: "grant_type", value: "refresh_token"), URLQueryItem(name: "refresh_token", value: refresh),
                    URLQueryItem(name: "client_id", value: "airlock"),
                ]
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
        request.headers.replaceOrAdd(name: "User-Agent", value: userAgent)
        var response: HTTPClientResponse
        var body: ByteBuffer
        var hops = 0
        while true {
            do {
                response = try await http.execute(request, timeout: .seconds(60))
                body = try await response.body.collect(upTo: 1 << 20)
            } catch {
                throw classify(error)
            }
            // A token service behind a redirect (a GET only: the refresh-token POST is not replayed
            // elsewhere); credentials stay on the realm's host.
            guard [301, 302, 303, 307, 308].contains(response.status.code), request.method == .GET, hops < 5,
                let location = response.headers.first(name: "Location"),
                let next = URL(string: location, relativeTo: URL(string: request.url))?.absoluteString
            else { break }
            hops += 1
            if URLComponents(string: next)?.host != URLComponents(string: request.url)?.host {
                request.headers.remove(name: "Authorization")
            }
            request.url = next
        }
        guard response.status == .ok else {
            // The token service says why (Docker Hub: "invalid repository name" for paths too deep).
            let said = Response(status: Int(response.status.code), headers: response.headers, body: Array(body.readableBytesView))
                .serviceDetail
            if response.status == .unauthorized || response.status == .forbidden {
                let base = credential.map { "token service refused \($0)" } ?? "token service wants credentials"
                throw RegistryError.unauthorized(host: host, detail: said.isEmpty ? base : "\(base): \(said)")
            }
            throw RegistryError.status(host: host, operation: "token request", status: Int(response.status.code), detail: said)
        }
        struct TokenAnswer: Decodable {
            var token: String?
            var access_token: String?
            var expires_in: Double?
        }
        guard let answer = try? JSONDecoder().decode(TokenAnswer.self, from: Data(body.readableBytesView)),
            let token = answer.token ?? answer.access_token, !token.isEmpty
        else {
            throw RegistryError.protocolViolation(host: host, detail: "token service answered without a token")
        }
        await session.store(token: token, lifetime: answer.expires_in ?? 60, challenge: challenge, scopes: scopes)
    }

    /// Turns a transport error into a person's cause.
    func classify(_ error: any Error) -> RegistryError {
        let text = String(describing: error)
        let lowered = text.lowercased()
        if lowered.contains("certificate") || lowered.contains("handshake") || lowered.contains("ssl") || lowered.contains("tls") {
            let detail =
                lowered.contains("verify") || lowered.contains("certificate") ? "the server's certificate is not trusted" : compact(text)
            return .tls(host: host, detail: detail)
        }
        let cause: String
        if lowered.contains("connection refused") {
            cause = "connection refused"
        } else if lowered.contains("timeout") || lowered.contains("timed out") {
            cause = "timed out"
        } else if lowered.contains("dns") || lowered.contains("name resolution") || lowered.contains("host not found")
            || lowered.contains("nodename")
        {
            cause = "host name not found"
        } else if lowered.contains("invalidproxyresponse") || lowered.contains("proxyauthenticationrequired") {
            cause =
                """
                the proxy refused to connect (it answers 407 when it wants credentials: check the user and password in HTTPS_PROXY or \
                HTTP_PROXY)
                """
        } else if lowered.contains("remoteconnectionclosed") || lowered.contains("connection reset") {
            cause = "the connection was closed"
        } else {
            cause = compact(text)
        }
        if let proxyURL { return .unreachable(host: host, detail: "through proxy \(proxyURL): \(scrubbingCredentials(cause))") }
        return .unreachable(host: host, detail: scrubbingCredentials(cause))
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
            let probe = try await send(
                .HEAD,
                "\(baseURL)/v2/\(repository)/blobs/sha256:\(String(repeating: "0", count: 64))",
                scopes: scopes,
                operation: "HEAD blob"
            )
            if probe.status == 403 { throw RegistryError.denied(host: host, repository: repository, detail: probe.errorDetail) }
        }
    }

    /// Resolves a `Location` header (absolute, or relative to the registry).
    func resolve(_ location: String) -> String {
        if location.hasPrefix("http://") || location.hasPrefix("https://") { return location }
        if location.hasPrefix("/") { return baseURL + location }
        return baseURL + "/" + location
    }

    /// Resolves an upload session's `Location` and refuses one that leaves the registry: another
    /// host or port (a reverse proxy that does not know its external address), or plain HTTP from
    /// an HTTPS registry, unless the user named that host with `--plain-http`. The registry's own
    /// origin is the only place credentials go in any case.
    func uploadLocation(_ location: String) throws -> String {
        let url = resolve(location)
        if isRegistryOrigin(url) { return url }
        guard let target = URLComponents(string: url), let targetHost = target.host else {
            throw RegistryError.refusedLocation(host: host, location: url, reason: "it is not a URL")
        }
        let hostPort = targetHost + (target.port.map { ":\($0)" } ?? "")
        if namedPlainHosts.contains(hostPort) || namedPlainHosts.contains(targetHost) { return url }
        if baseURL.hasPrefix("https://"), target.scheme?.lowercased() == "http" {
            throw RegistryError.refusedLocation(
                host: host,
                location: url,
                reason:
                    """
                    plain HTTP from an HTTPS registry (a TLS-terminating proxy that does not tell the registry, e.g. \
                    X-Forwarded-Proto); fix the registry's external URL, or name \(hostPort) with --plain-http if that is intended
                    """
            )
        }
        throw RegistryError.refusedLocation(
            host: host,
            location: url,
            reason:
                """
                another address than \(host) (a reverse proxy that does not pass the external host and port); set the registry's \
                external URL
                """
        )
    }
}
