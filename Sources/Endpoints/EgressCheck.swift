import Foundation
import Registry

/// The proxy egress checks go through: the site's, else the environment's (`HTTPS_PROXY`,
/// `HTTP_PROXY`).
public struct EgressProxy: Sendable {
    public var httpsProxy: String?
    public var httpProxy: String?
    /// Where the setting came from, for messages (`site.yaml`, `HTTPS_PROXY`).
    public var origin: String

    public init(httpsProxy: String?, httpProxy: String?, origin: String) {
        self.httpsProxy = httpsProxy
        self.httpProxy = httpProxy
        self.origin = origin
    }

    /// The proxy variables of `environment`, or nil when neither is set.
    public static func environment(_ environment: [String: String]) -> EgressProxy? {
        let transport = TransportOptions(environment: environment)
        guard transport.httpsProxy?.isEmpty == false || transport.httpProxy?.isEmpty == false else { return nil }
        return EgressProxy(httpsProxy: transport.httpsProxy, httpProxy: transport.httpProxy, origin: "HTTPS_PROXY/HTTP_PROXY")
    }

    /// (host, port, URL) of the proxy for a secure or plain target.
    func endpoint(secure: Bool) -> (host: String, port: Int, url: String)? {
        guard let configured = (secure ? httpsProxy ?? httpProxy : httpProxy ?? httpsProxy), !configured.isEmpty else { return nil }
        let text = configured.contains("://") ? configured : "http://\(configured)"
        guard let components = URLComponents(string: text), let host = components.host else { return nil }
        let shown = "\(components.scheme ?? "http")://\(host)\(components.port.map { ":\($0)" } ?? "")"
        return (host, components.port ?? 3128, shown)
    }
}

/// Proves the network paths of `kind: Egress` documents: each `reach:` entry answers through its
/// path; each `block:` entry fails directly and through the proxy (a DNS failure, a refusal or a
/// time-out is blocked; any connection that opens, any tunnel the proxy grants, any answer from
/// the target is a FAILED line). Reports have the shape of the endpoint reports.
public enum EgressCheck {
    public static func run(_ egress: Egress, proxy: EgressProxy?, timeoutSeconds: Int?) -> [PreflightReport] {
        let timeout = TimeInterval(timeoutSeconds ?? 10)
        return egress.reach.map { reach($0, document: egress.name, proxy: proxy, timeout: timeout) }
            + egress.block.map { block($0, document: egress.name, proxy: proxy, timeout: timeout) }
    }

    // MARK: reach

    static func reach(_ entry: Egress.Reach, document: String, proxy: EgressProxy?, timeout: TimeInterval) -> PreflightReport {
        var report = PreflightReport(
            endpoint: "\(document)/\(entry.name)",
            provider: "egress",
            url: entry.url,
            proxy: nil,
            ok: false,
            steps: [],
            failure: nil,
            check: .reach
        )
        var steps: [PreflightReport.Step] = []
        do {
            try reachSteps(entry, proxy: proxy, timeout: timeout, report: &report, steps: &steps)
            report.ok = true
        } catch let failure as StepFailure {
            steps.fail(failure)
            report.failure = failure.line
        } catch {
            report.failure = "\(error)"
        }
        report.steps = steps
        return report
    }

    private static func reachSteps(
        _ entry: Egress.Reach,
        proxy: EgressProxy?,
        timeout: TimeInterval,
        report: inout PreflightReport,
        steps: inout [PreflightReport.Step]
    ) throws {
        let destination = try Destination(url: entry.url, field: "url") { _, secure in
            guard entry.via == .proxy else { return nil }
            guard let proxy, let chosen = proxy.endpoint(secure: secure) else {
                throw StepFailure(
                    step: .proxy,
                    line: "\(entry.name) must be reached via the proxy, but none is set — give --site with proxy:, or set HTTPS_PROXY"
                )
            }
            return ProxyChoice(url: chosen.url, host: chosen.host, port: chosen.port, origin: proxy.origin)
        }
        report.proxy = destination.proxyLabel
        let network = NetworkSteps(timeout: timeout, caPEM: entry.caPEM, caFile: entry.caFile)
        let addresses = try network.resolve(destination, steps: &steps)
        let connection = try network.connect(destination, addresses: addresses, steps: &steps)
        defer { connection.close() }
        try network.tunnel(destination, connection: connection, steps: &steps)
        try network.startTLS(destination, connection: connection, steps: &steps)
        let start = Date()
        let url = destination.url
        let path = (url.percentEncodedPath.isEmpty ? "/" : url.percentEncodedPath) + (url.percentEncodedQuery.map { "?\($0)" } ?? "")
        let answer: HTTPAnswer
        do {
            answer = try connection.exchange(
                method: "GET",
                target: destination.requestTarget(path),
                host: destination.authority,
                headers: [],
                body: nil,
                what: "GET \(path)"
            )
        } catch let failure as ProbeFailure {
            throw StepFailure(step: .request, line: "request: \(failure.message)", since: start)
        }
        steps.pass(.request, since: start, "GET \(path) → \(answer.status) (any answer proves the path)", status: answer.status)
    }

    // MARK: block

    static func block(_ entry: Egress.Block, document: String, proxy: EgressProxy?, timeout: TimeInterval) -> PreflightReport {
        var steps: [PreflightReport.Step] = []
        var failures: [String] = []
        let direct = probeDirect(entry, timeout: timeout)
        record(direct, step: .direct, entry: entry, steps: &steps, failures: &failures)
        let chosen = proxy?.endpoint(secure: !entry.plainHTTP)
        if let chosen {
            let through = probeProxy(entry, proxy: chosen, timeout: timeout)
            record(through, step: .viaProxy, entry: entry, steps: &steps, failures: &failures)
        } else {
            steps.pass(.viaProxy, since: nil, "no proxy is set here: only the direct path was checked")
        }
        return PreflightReport(
            endpoint: "\(document)/\(entry.name)",
            provider: "egress",
            url: entry.target,
            proxy: chosen.map { "\($0.url) (\(proxy?.origin ?? "?"))" },
            ok: failures.isEmpty,
            steps: steps,
            failure: failures.first,
            check: .block
        )
    }

    /// What one attempt at a blocked target met: blocked (and how), or open (and what answered).
    enum Outcome {
        case blocked(String, since: Date)
        case open(String, since: Date, status: Int?)
    }

    private static func record(
        _ outcome: Outcome,
        step: PreflightReport.Step.Name,
        entry: Egress.Block,
        steps: inout [PreflightReport.Step],
        failures: inout [String]
    ) {
        switch outcome {
        case .blocked(let how, let start):
            steps.pass(step, since: start, "blocked: \(how)")
        case .open(let what, let start, let status):
            let route = step == .direct ? "directly" : "through the proxy"
            let line = "\(entry.name): \(entry.target) is reachable \(route) (\(what)) — it must be blocked; close this path"
            steps.fail(StepFailure(step: step, line: line, since: start, status: status))
            failures.append(line)
        }
    }

    private static func probeDirect(_ entry: Egress.Block, timeout: TimeInterval) -> Outcome {
        let start = Date()
        let addresses: [ProbeConnection.Address]
        do { addresses = try ProbeConnection.resolve(entry.host, port: entry.port) } catch {
            return .blocked("\(entry.host) does not resolve", since: start)
        }
        do {
            let connection = try ProbeConnection(
                addresses: addresses,
                host: entry.host,
                port: entry.port,
                deadline: Date(timeIntervalSinceNow: timeout)
            )
            connection.close()
            return .open("a connection to \(entry.host):\(entry.port) opened", since: start, status: nil)
        } catch let failure as ProbeFailure {
            let how = failure.kind == .timeout ? "no answer from \(entry.host):\(entry.port) within \(Int(timeout)) s" : failure.message
            return .blocked(how, since: start)
        } catch {
            return .blocked("\(error)", since: start)
        }
    }

    /// Statuses a proxy gives when it will not, or cannot, reach the target.
    static let proxyRefusals: Set<Int> = [403, 407, 500, 502, 503, 504]

    private static func probeProxy(_ entry: Egress.Block, proxy: (host: String, port: Int, url: String), timeout: TimeInterval) -> Outcome {
        let start = Date()
        let connection: ProbeConnection
        do {
            let addresses = try ProbeConnection.resolve(proxy.host, port: proxy.port)
            connection = try ProbeConnection(
                addresses: addresses,
                host: proxy.host,
                port: proxy.port,
                deadline: Date(timeIntervalSinceNow: timeout)
            )
        } catch let failure as ProbeFailure {
            return .blocked("the proxy \(proxy.url) cannot be reached (\(failure.message))", since: start)
        } catch {
            return .blocked("\(error)", since: start)
        }
        defer { connection.close() }
        let authority = "\(entry.host):\(entry.port)"
        do {
            if entry.plainHTTP {
                let answer = try connection.exchange(
                    method: "GET",
                    target: entry.target,
                    host: authority,
                    headers: [],
                    body: nil,
                    what: "GET \(entry.target) through the proxy"
                )
                if proxyRefusals.contains(answer.status) {
                    return .blocked("the proxy answered \(answer.status) to GET \(entry.target)", since: start)
                }
                return .open("GET \(entry.target) → \(answer.status)", since: start, status: answer.status)
            }
            let status = try connection.connectThroughProxy(authority: authority)
            if status == 200 { return .open("the proxy granted CONNECT \(authority)", since: start, status: status) }
            return .blocked("the proxy answered \(status) to CONNECT \(authority)", since: start)
        } catch let failure as ProbeFailure {
            return .blocked("the proxy gave no answer (\(failure.message))", since: start)
        } catch {
            return .blocked("\(error)", since: start)
        }
    }
}

/// Steps as they pass and fail, in the order they ran.
extension Array where Element == PreflightReport.Step {
    mutating func pass(
        _ name: PreflightReport.Step.Name,
        since start: Date?,
        _ detail: String,
        certificates: [CertificateSummary]? = nil,
        status: Int? = nil
    ) {
        append(
            .init(
                name: name,
                ok: true,
                milliseconds: start.map(elapsedMilliseconds),
                detail: detail,
                certificates: certificates,
                httpStatus: status
            )
        )
    }

    mutating func fail(_ failure: StepFailure) {
        append(
            .init(
                name: failure.step,
                ok: false,
                milliseconds: failure.milliseconds,
                detail: failure.line,
                certificates: failure.certificates,
                httpStatus: failure.status
            )
        )
    }
}
