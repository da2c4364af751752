import Foundation
import Registry

/// Where a preflight connects: the endpoint's URL, and the proxy in between when one applies.
struct Destination {
    let url: URLComponents
    let host: String
    let port: Int
    let secure: Bool
    let proxy: ProxyChoice?

    init(endpoint: ModelEndpoint, environment: [String: String]) throws {
        guard let url = URLComponents(string: endpoint.baseURL), let scheme = url.scheme, let host = url.host else {
            throw StepFailure(step: .request, line: "baseURL \(endpoint.baseURL) is not an absolute URL")
        }
        self.url = url
        self.host = host
        secure = scheme == "https"
        port = url.port ?? (secure ? 443 : 80)
        proxy = ProxyChoice(endpoint: endpoint, environment: environment, host: host, secure: secure)
    }

    /// What is dialled: the proxy when one is used (it resolves the endpoint), else the endpoint.
    var dialHost: String { proxy?.host ?? host }
    var dialPort: Int { proxy?.port ?? port }
}

/// The network steps of a preflight, one function each: DNS, connect, the proxy's CONNECT, TLS,
/// and the provider's request with its verdict.
extension PreflightRun {
    mutating func resolve(_ destination: Destination) throws -> [ProbeConnection.Address] {
        let start = Date()
        do {
            let addresses = try ProbeConnection.resolve(destination.dialHost, port: destination.dialPort)
            var shown: [String] = []
            for address in addresses where !shown.contains(address.text) { shown.append(address.text) }
            pass(.dns, since: start, "\(destination.dialHost) → \(shown.prefix(3).joined(separator: ", "))")
            return addresses
        } catch let failure as ProbeFailure {
            let fix =
                destination.proxy.map { "check the proxy host in \($0.origin)" }
                ?? "check the host name in baseURL and this machine's resolver"
            throw StepFailure(step: .dns, line: "DNS: \(failure.message) — \(fix)", since: start)
        }
    }

    mutating func connect(_ destination: Destination, addresses: [ProbeConnection.Address]) throws -> ProbeConnection {
        let start = Date()
        let (dialHost, dialPort) = (destination.dialHost, destination.dialPort)
        let connection: ProbeConnection
        do {
            connection = try ProbeConnection(
                addresses: addresses,
                host: dialHost,
                port: dialPort,
                deadline: Date(timeIntervalSinceNow: timeout)
            )
        } catch let failure as ProbeFailure {
            if failure.kind == .timeout {
                throw StepFailure(
                    step: .connect,
                    line: "timeout: \(failure.message) after \(Int(timeout)) s — check firewalls between here and \(dialHost)",
                    since: start
                )
            }
            let fix = destination.proxy.map { "is the proxy running and reachable? (\($0.origin))" } ?? "check the port and any firewall"
            throw StepFailure(step: .connect, line: "connect: \(failure.message) — \(fix)", since: start)
        }
        pass(.connect, since: start, destination.proxy != nil ? "proxy \(dialHost):\(dialPort)" : "\(dialHost):\(dialPort)")
        return connection
    }

    /// Through a proxy to an HTTPS endpoint: `CONNECT host:port` must answer 200.
    mutating func tunnel(_ destination: Destination, connection: ProbeConnection) throws {
        guard let proxy = destination.proxy, destination.secure else { return }
        let (host, port) = (destination.host, destination.port)
        let start = Date()
        let status: Int
        do { status = try connection.connectThroughProxy(authority: "\(host):\(port)") } catch let failure as ProbeFailure {
            throw StepFailure(step: .proxy, line: "proxy: \(failure.message) — check the proxy (\(proxy.origin))", since: start)
        }
        guard status == 200 else {
            throw StepFailure(
                step: .proxy,
                line:
                    """
                    proxy: \(proxy.url) answered \(status) to CONNECT \(host):\(port) — allow this host and port in the proxy, or \
                    check that the proxy can resolve and reach it
                    """,
                since: start,
                status: status
            )
        }
        pass(.proxy, since: start, "CONNECT \(host):\(port) through \(proxy.url) → 200", status: status)
    }

    mutating func startTLS(_ destination: Destination, connection: ProbeConnection) throws {
        guard destination.secure else { return }
        let start = Date()
        let tls: ProbeConnection.TLSResult
        do { tls = try connection.startTLS(host: destination.host, extraCAs: target.caPEM) } catch let failure as ProbeFailure {
            let prefix = failure.kind == .timeout ? "timeout" : "TLS"
            throw StepFailure(step: .tls, line: "\(prefix): \(failure.message)", since: start)
        }
        if let error = tls.verifyError {
            throw StepFailure(
                step: .tls,
                line: tlsFailureLine(error, chain: tls.chain, host: destination.host),
                since: start,
                certificates: tls.chain
            )
        }
        let leaf = tls.chain.first.map { "\($0.subject), issued by \($0.issuer)" } ?? "no certificate"
        pass(.tls, since: start, "\(tls.version); \(leaf)", certificates: tls.chain)
    }

    /// The provider's smallest request, and what its answer says about the key and the model.
    mutating func request(_ destination: Destination, connection: ProbeConnection, credentials: Credentials) throws {
        let host = destination.host
        let request = ProviderRequest(endpoint: endpoint, basePath: destination.url.path, credentials: credentials)
        let start = Date()
        let answer: HTTPAnswer
        let authority = destination.url.port.map { "\(host):\($0)" } ?? host
        let requestTarget = (destination.proxy != nil && !destination.secure) ? "http://\(authority)\(request.path)" : request.path
        do {
            answer = try connection.exchange(
                method: request.method,
                target: requestTarget,
                host: authority,
                headers: request.headers,
                body: request.body,
                what: "waiting for \(host) to answer \(request.method) \(request.path)"
            )
        } catch let failure as ProbeFailure {
            let line =
                failure.kind == .timeout
                ? """
                timeout: \(host) did not answer \(request.method) \(request.path) within \(Int(timeout)) s — raise timeoutSeconds, or \
                check the gateway
                """
                : "request: \(failure.message)"
            throw StepFailure(step: .request, line: line, since: start)
        }
        let passed = "\(request.method) \(request.path) → \(answer.status) (\(credentials.authDescription))"
        switch request.judge(answer) {
        case .ok(let detail):
            pass(.request, since: start, passed, status: answer.status)
            pass(.model, since: nil, detail)
        case .refused(let why):
            throw StepFailure(
                step: .request,
                line:
                    """
                    HTTP \(answer.status) from \(host) for \(request.method) \(request.path): \(why); the credential went in \
                    \(credentials.authDescription) — check that key
                    """,
                since: start,
                status: answer.status
            )
        case .missing(let why):
            pass(.request, since: start, passed, status: answer.status)
            throw StepFailure(step: .model, line: why)
        case .failed(let why):
            throw StepFailure(
                step: .request,
                line: "HTTP \(answer.status) from \(host) for \(request.method) \(request.path): \(why)",
                since: start,
                status: answer.status
            )
        }
    }
}
