import Foundation

/// What a client knows about authenticating with one registry: the scheme it asked for, and
/// bearer tokens cached per realm + service + scope set until they expire.
actor AuthSession {
    let credential: Credential?
    private(set) var challenge: AuthChallenge?
    private var tokens: [String: (token: String, expires: Date)] = [:]
    private var pinged = false

    /// True the first time only: whoever gets true pings `/v2/` to learn the registry's challenge.
    func claimPing() -> Bool {
        defer { pinged = true }
        return !pinged
    }

    init(credential: Credential?) { self.credential = credential }

    /// The Authorization header to send preemptively for `scopes`, if one is known.
    func header(for scopes: [String]) -> String? {
        if case .registryToken(let token) = credential { return "Bearer \(token)" }
        guard let challenge else { return nil }
        switch challenge.scheme {
        case .basic:
            return basicHeader()
        case .bearer:
            guard let cached = tokens[key(challenge, scopes)], cached.expires > Date() else { return nil }
            return "Bearer \(cached.token)"
        }
    }

    func basicHeader() -> String? {
        guard case .basic(let username, let password) = credential else { return nil }
        return "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
    }

    /// Remembers a challenge; the caller then fetches a token if it is a bearer one.
    func remember(_ challenge: AuthChallenge) { self.challenge = challenge }

    /// Whether a bearer token for `scopes` is cached and still fresh.
    func hasToken(for scopes: [String]) -> Bool {
        guard let challenge, challenge.scheme == .bearer, let cached = tokens[key(challenge, scopes)] else { return false }
        return cached.expires > Date()
    }

    func store(token: String, lifetime: TimeInterval, challenge: AuthChallenge, scopes: [String]) {
        // Refresh a little early; tokens live at least 60 s by the spec.
        tokens[key(challenge, scopes)] = (token, Date().addingTimeInterval(max(60, lifetime) - 10))
    }

    private func key(_ challenge: AuthChallenge, _ scopes: [String]) -> String {
        "\(challenge.realm ?? "")|\(challenge.service ?? "")|\(scopes.sorted().joined(separator: " "))"
    }
}

/// Counts the requests a client had to send again (5xx, 429, broken or refused connections).
actor RetryCounter {
    private(set) var count = 0
    func increment() { count += 1 }
}
