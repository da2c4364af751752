import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// Authentication: the registry's challenge learnt once per client, Basic credentials or Bearer
/// tokens (fetched with every scope a request needs and cached until they expire), and the rule
/// that credentials go only to the registry's own origin.
extension RegistryClient {
    /// Pings `/v2/` once per client to learn how the registry authenticates.
    func learnChallenge() async throws {
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

    func authorization(for scopes: [String]) async throws -> String? {
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

    func effectivePort(_ url: URLComponents) -> Int {
        url.port ?? (url.scheme?.lowercased() == "https" ? 443 : 80)
    }

    /// Answers a challenge: basic needs credentials, bearer fetches a token for the scopes.
    func authenticate(_ challenge: AuthChallenge, scopes: [String]) async throws {
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

    func fetchToken(_ challenge: AuthChallenge, scopes: [String]) async throws {
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
}
