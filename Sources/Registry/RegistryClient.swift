import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import OCI

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
            let next = try await next(
                after: answer,
                method: method,
                scopes: scopes,
                attempt: attempt,
                followed: redirects,
                ownOrigin: ownOrigin,
                authenticated: authenticated,
                retryTransport: retryTransport
            )
            switch next {
            case .done:
                return answer
            case .follow(let location):
                redirects += 1
                url = resolve(location)
                ownOrigin = isRegistryOrigin(url)
                attempt -= 1
            case .authenticate(let challenge):
                try await authenticate(challenge, scopes: scopes)
                authenticated = true
                attempt -= 1
            case .wait(let seconds):
                try await backoff(attempt: attempt, retryAfter: seconds)
            }
        }
    }

    /// What ``send(_:_:headers:scopes:body:operation:collectLimit:retryTransport:)`` does after an answer.
    private enum Next {
        /// Hand the answer back.
        case done
        /// Follow a redirect (not counted as an attempt).
        case follow(String)
        /// Authenticate for the challenge and ask again (not counted as an attempt).
        case authenticate(AuthChallenge)
        /// Wait (the server's time, if it said one) and send again.
        case wait(Double?)
    }

    private func next(
        after answer: Response,
        method: HTTPMethod,
        scopes: [String],
        attempt: Int,
        followed redirects: Int,
        ownOrigin: Bool,
        authenticated: Bool,
        retryTransport: Bool
    ) async throws -> Next {
        // A manifest or tag list behind a CDN may answer with a redirect: GET and HEAD follow
        // it (credentials only while it stays on the registry's origin).
        if [301, 302, 303, 307, 308].contains(answer.status), method == .GET || method == .HEAD, redirects < 5,
            let location = answer.header("Location")
        {
            return .follow(location)
        }
        if answer.status == 401, ownOrigin {
            // Every challenge the answer carries counts (a proxy may offer Negotiate first);
            // without one, the challenge /v2/ gave stands in (gcr.io-style bare 401s).
            let given = AuthChallenge.best(in: answer.headers["WWW-Authenticate"])
            let remembered = await session.challenge
            if !authenticated, let challenge = given ?? remembered { return .authenticate(challenge) }
            if given?.error == "insufficient_scope" || remembered?.error == "insufficient_scope" {
                throw RegistryError.unauthorized(
                    host: host,
                    detail: "the credentials are valid but lack permission for \(scopes.joined(separator: " "))"
                )
            }
            let credential = session.credential
            throw RegistryError.unauthorized(host: host, detail: credential.map { "\($0) was not accepted" } ?? "no credentials configured")
        }
        if answer.status == 429 {
            let wait = rateLimitWait(answer)
            if (wait.seconds ?? 0) > 60 || attempt >= Self.maxAttempts {
                throw RegistryError.rateLimited(host: host, until: wait.until, detail: wait.detail)
            }
            return .wait(wait.seconds)
        }
        if [500, 502, 503, 504].contains(answer.status), retryTransport, attempt < Self.maxAttempts {
            return .wait(answer.header("Retry-After").flatMap(Double.init))
        }
        return .done
    }

    /// How many requests were sent again after a transient failure.
    public var retries: Int {
        get async { await retryCounter.count }
    }

    /// `GET /v2/`: checks reachability, TLS and credentials before any transfer.
    public func ping(repository: RepositoryName? = nil, push: Bool = false) async throws {
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
            if probe.status == 403 { throw RegistryError.denied(host: host, repository: repository.path, detail: probe.errorDetail) }
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
