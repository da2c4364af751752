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

    public init(caFiles: [String] = [], plainHTTPHosts: Set<String> = [], environment: [String: String] = ProcessInfo.processInfo.environment,
                jobs: Int = 4) {
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

    /// The proxy URL for a host, honouring NO_PROXY (exact host, `.suffix`, `suffix`, `*`).
    public func proxy(for host: String, plainHTTP: Bool) -> String? {
        let name = hostOnly(host).lowercased()
        for rule in noProxy {
            let pattern = rule.lowercased().split(separator: ":").first.map(String.init) ?? ""
            if pattern == "*" || name == pattern { return nil }
            let suffix = pattern.hasPrefix(".") ? pattern : "." + pattern
            if name.hasSuffix(suffix) { return nil }
        }
        return plainHTTP ? httpProxy : httpsProxy
    }
}

/// `host` without its `:port` (IPv6 literals in brackets keep their colons).
func hostOnly(_ host: String) -> String {
    if host.hasPrefix("["), let end = host.firstIndex(of: "]") { return String(host[...end]) }
    return host.split(separator: ":").first.map(String.init) ?? host
}
