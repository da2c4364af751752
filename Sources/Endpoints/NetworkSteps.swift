internal import COpenSSL
import Foundation
import Registry

/// Where a check connects: the URL (and the field it came from, for messages), and the proxy in
/// between when one applies.
struct Destination {
    let url: URLComponents
    /// `baseURL` for a model endpoint, `url` for an egress entry.
    let field: String
    let host: String
    let port: Int
    let secure: Bool
    let proxy: ProxyChoice?

    /// `text` as an absolute URL; `proxy` picks the proxy for its host (nil: none) or throws why
    /// there must be one.
    init(url text: String, field: String, proxy choose: (_ host: String, _ secure: Bool) throws -> ProxyChoice?) throws {
        guard let url = URLComponents(string: text), let scheme = url.scheme, let host = url.host else {
            throw StepFailure(step: .request, line: "\(field) \(text) is not an absolute URL")
        }
        self.url = url
        self.field = field
        self.host = host
        secure = scheme == "https"
        port = url.port ?? (secure ? 443 : 80)
        proxy = try choose(host, secure)
    }

    /// `URL (origin)` of the proxy in between, for the report; nil without one.
    var proxyLabel: String? { proxy.map { "\($0.url) (\($0.origin))" } }

    /// What is dialled: the proxy when one is used (it resolves the endpoint), else the endpoint.
    var dialHost: String { proxy?.host ?? host }
    var dialPort: Int { proxy?.port ?? port }
    /// `host:port` as the URL names it (the port only when it names one), for `Host` headers.
    var authority: String { url.port.map { "\(host):\($0)" } ?? host }
    /// The target of a request for `path`: the whole URL to a proxy for plain HTTP, else the path.
    func requestTarget(_ path: String) -> String { proxy != nil && !secure ? "http://\(authority)\(path)" : path }
}

/// The network steps preflight and egress checks share, in order — DNS, connect, the proxy's
/// CONNECT, TLS — each recorded in `steps` as it passes, or thrown as the one line that says what
/// to fix. The request that follows is each check's own.
struct NetworkSteps {
    let timeout: TimeInterval
    /// CA certificates trusted beside the system's, and the file they came from (for messages).
    let caPEM: [UInt8]?
    let caFile: String?

    func resolve(_ destination: Destination, steps: inout [PreflightReport.Step]) throws -> [ProbeConnection.Address] {
        let start = Date()
        do {
            let addresses = try ProbeConnection.resolve(destination.dialHost, port: destination.dialPort)
            var shown: [String] = []
            for address in addresses where !shown.contains(address.text) { shown.append(address.text) }
            steps.pass(.dns, since: start, "\(destination.dialHost) → \(shown.prefix(3).joined(separator: ", "))")
            return addresses
        } catch let failure as ProbeFailure {
            let fix =
                destination.proxy.map { "check the proxy host in \($0.origin)" }
                ?? "check the host name in \(destination.field) and this machine's resolver"
            throw StepFailure(step: .dns, line: "DNS: \(failure.message) — \(fix)", since: start)
        }
    }

    func connect(
        _ destination: Destination,
        addresses: [ProbeConnection.Address],
        steps: inout [PreflightReport.Step]
    ) throws -> ProbeConnection {
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
        steps.pass(.connect, since: start, destination.proxy != nil ? "proxy \(dialHost):\(dialPort)" : "\(dialHost):\(dialPort)")
        return connection
    }

    /// Through a proxy to an HTTPS endpoint: `CONNECT host:port` must answer 200.
    func tunnel(_ destination: Destination, connection: ProbeConnection, steps: inout [PreflightReport.Step]) throws {
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
        steps.pass(.proxy, since: start, "CONNECT \(host):\(port) through \(proxy.url) → 200", status: status)
    }

    func startTLS(_ destination: Destination, connection: ProbeConnection, steps: inout [PreflightReport.Step]) throws {
        guard destination.secure else { return }
        let start = Date()
        let tls: ProbeConnection.TLSResult
        do { tls = try connection.startTLS(host: destination.host, extraCAs: caPEM) } catch let failure as ProbeFailure {
            let prefix = failure.kind == .timeout ? "timeout" : "TLS"
            throw StepFailure(step: .tls, line: "\(prefix): \(failure.message)", since: start)
        }
        if let error = tls.verifyError {
            throw StepFailure(
                step: .tls,
                line: tlsFailureLine(error, chain: tls.chain, destination: destination),
                since: start,
                certificates: tls.chain
            )
        }
        let leaf = tls.chain.first.map { "\($0.subject), issued by \($0.issuer)" } ?? "no certificate"
        steps.pass(.tls, since: start, "\(tls.version); \(leaf)", certificates: tls.chain)
    }

    func tlsFailureLine(_ error: (code: Int, text: String), chain: [CertificateSummary], destination: Destination) -> String {
        let caFileNote = caFile.map { " (\($0) does not vouch for it)" } ?? ""
        let host = destination.host
        switch Int32(error.code) {
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN,
            X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
            let issuer = chain.last?.issuer ?? "?"
            return "TLS: unknown issuer \(issuer) — add it to caFile\(caFileNote)"
        case X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH:
            let subject = chain.first?.subject ?? "?"
            return "TLS: the certificate (\(subject)) is not for \(host) — fix \(destination.field)'s host or the server's certificate"
        case X509_V_ERR_CERT_HAS_EXPIRED:
            return "TLS: the certificate of \(host) has expired (\(chain.first?.subject ?? "?")) — renew it"
        default:
            return "TLS: \(error.text) (\(chain.first?.subject ?? "no certificate")) — check the server's certificate and caFile"
        }
    }
}
