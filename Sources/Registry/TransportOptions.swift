import Foundation

/// How to reach registries: extra CAs, hosts spoken to over plain HTTP, and proxies from the
/// environment (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`, either case).
public struct TransportOptions: Sendable {
    /// PEM files whose certificates are trusted in addition to the system's.
    public var caFiles: [String]
    /// `host[:port]` values spoken to over plain HTTP. Never a fallback: only these.
    public var plainHTTPHosts: Set<String>
    public var httpsProxy: String?
    public var httpProxy: String?
    public var noProxy: [String]
    /// Parallel transfers.
    public var jobs: Int
    /// Sent as `User-Agent` on every request (some registries and CDNs refuse requests without one).
    public var userAgent = "airlock"

    public init(
        caFiles: [String] = [],
        plainHTTPHosts: Set<String> = [],
        environment: [String: String] = ProcessInfo.processInfo.environment,
        jobs: Int = 4
    ) {
        self.caFiles = caFiles
        self.plainHTTPHosts = plainHTTPHosts
        func value(_ name: String) -> String? {
            let found = environment[name] ?? environment[name.lowercased()]
            return found?.isEmpty == false ? found : nil
        }
        httpsProxy = value("HTTPS_PROXY")
        httpProxy = value("HTTP_PROXY")
        noProxy = (value("NO_PROXY") ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        self.jobs = jobs
    }

    /// Whether `host[:port]` is spoken to over plain HTTP.
    public func usesPlainHTTP(_ host: String) -> Bool {
        plainHTTPHosts.contains(host) || plainHTTPHosts.contains(hostOnly(host))
    }

    /// The proxy URL for a host (`host[:port]`), unless NO_PROXY excludes it.
    public func proxy(for host: String, plainHTTP: Bool) -> String? {
        noProxyExcludes(host, rules: noProxy) ? nil : (plainHTTP ? httpProxy : httpsProxy)
    }
}

/// Whether NO_PROXY-style `rules` keep `host` (`host[:port]`) away from the proxy, read the way
/// curl reads them: `*` excludes every host; any other rule names a host or a domain (a leading dot
/// changes nothing) and excludes it and its subdomains; a `:port` on a rule or the host is
/// ignored, as are case and IPv6 brackets. Used for registries, chart repositories and preflight.
public func noProxyExcludes(_ host: String, rules: [String]) -> Bool {
    let name = bareHost(host)
    return rules.contains { rule in
        let pattern = bareHost(rule.trimmingCharacters(in: .whitespaces))
        if pattern == "*" { return true }
        let domain = pattern.hasPrefix(".") ? String(pattern.dropFirst()) : pattern
        return !domain.isEmpty && (name == domain || name.hasSuffix("." + domain))
    }
}

/// A host name or address, lowercased, without `:port` and without IPv6 brackets.
private func bareHost(_ text: String) -> String {
    let lower = text.lowercased()
    if lower.hasPrefix("["), let end = lower.firstIndex(of: "]") {
        return String(lower[lower.index(after: lower.startIndex)..<end])
    }
    guard lower.filter({ $0 == ":" }).count == 1 else { return lower }  // a bare IPv6 address keeps its colons
    return String(lower.prefix { $0 != ":" })
}

/// `host` without its `:port` (IPv6 literals in brackets keep their colons).
func hostOnly(_ host: String) -> String {
    if host.hasPrefix("["), let end = host.firstIndex(of: "]") { return String(host[...end]) }
    return host.split(separator: ":").first.map(String.init) ?? host
}

/// A proxy URL split into where to connect and the credentials to present, so that the URL can
/// be named in messages without its password.
public struct ProxySetting: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var username: String?
    public var password: String?

    public init?(_ url: String) {
        guard let components = URLComponents(string: url), let host = components.host, !host.isEmpty else { return nil }
        self.host = host
        port = components.port ?? 3128
        username = components.user?.removingPercentEncoding
        password = components.password?.removingPercentEncoding
    }

    /// `http://host:port`, never with credentials: what messages show.
    public var display: String { "http://\(host):\(port)" }
}

/// `text` with the credentials of every URL in it removed (`http://user:pass@host` →
/// `http://host`): messages and logs never carry a password.
public func scrubbingCredentials(_ text: String) -> String {
    guard text.contains("@") else { return text }
    return text.replacingOccurrences(of: #"([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@"#, with: "$1", options: .regularExpression)
}
