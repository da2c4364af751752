import Foundation
import Registry

/// What `airlock preflight` found for one endpoint: each step with its outcome and latency, and
/// for a failure one line saying what to fix. Secret values never appear here, only where they
/// come from.
public struct PreflightReport: Sendable, Codable {
    public struct Step: Sendable, Codable {
        public var name: Name
        public var ok: Bool
        public var milliseconds: Int?
        public var detail: String
        public var certificates: [CertificateSummary]?
        public var httpStatus: Int?

        /// The steps, in the order they run.
        public enum Name: String, Sendable, Codable {
            case credentials, dns, connect, proxy, tls, request, model
            /// Egress `block:` entries: the attempt without, and through, the proxy.
            case direct
            case viaProxy = "via-proxy"
        }
    }

    public var endpoint: String
    public var provider: String
    public var url: String
    /// The proxy used, and where its setting came from; nil when connecting directly.
    public var proxy: String?
    public var ok: Bool
    public var steps: [Step]
    /// The first failure, as one line with what to fix.
    public var failure: String?
    /// For an Egress entry: whether the path must answer or must fail (nil for a model endpoint).
    public var check: EgressCheckKind?
}

/// What an Egress entry asks of its path.
public enum EgressCheckKind: String, Sendable, Codable {
    case reach, block
}

/// An endpoint to check, with its CA bundle (PEM) when it has one.
public struct PreflightTarget: Sendable {
    public var endpoint: ModelEndpoint
    public var caPEM: [UInt8]?

    public init(endpoint: ModelEndpoint, caPEM: [UInt8]?) {
        self.endpoint = endpoint
        self.caPEM = caPEM
    }
}

public struct PreflightOptions: Sendable {
    /// Where Kubernetes secrets are mounted: `DIR/NAME/KEY` holds key KEY of secret NAME.
    public var secretsDirectory: String?
    /// Overrides each endpoint's `timeoutSeconds` (default 10 s per step).
    public var timeoutSeconds: Int?
    /// Environment for `valueFrom: {env:}` and the proxy variables.
    public var environment: [String: String]

    public init(
        secretsDirectory: String? = nil,
        timeoutSeconds: Int? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        self.secretsDirectory = secretsDirectory
        self.timeoutSeconds = timeoutSeconds
        self.environment = environment
    }
}

/// Proves an endpoint works from here: credentials, DNS, TCP (through the proxy with CONNECT when
/// one applies), TLS with the system trust store plus the endpoint's CA file, then the provider's
/// cheapest authenticated request and a check that the model or deployment exists.
public enum Preflight {
    public static func run(_ target: PreflightTarget, options: PreflightOptions) -> PreflightReport {
        var run = PreflightRun(target: target, options: options)
        run.perform()
        return run.report
    }
}

struct PreflightRun {
    let target: PreflightTarget
    let options: PreflightOptions
    var report: PreflightReport
    var endpoint: ModelEndpoint { target.endpoint }
    var timeout: TimeInterval { TimeInterval(options.timeoutSeconds ?? endpoint.timeoutSeconds ?? 10) }

    init(target: PreflightTarget, options: PreflightOptions) {
        self.target = target
        self.options = options
        report = PreflightReport(
            endpoint: target.endpoint.name,
            provider: target.endpoint.provider.rawValue,
            url: target.endpoint.baseURL,
            proxy: nil,
            ok: false,
            steps: [],
            failure: nil
        )
    }

    mutating func perform() {
        do {
            try checkAll()
            report.ok = true
        } catch let failure as StepFailure {
            report.steps.fail(failure)
            report.failure = failure.line
        } catch {
            report.failure = "\(error)"
        }
    }

    mutating func pass(
        _ step: PreflightReport.Step.Name,
        since start: Date?,
        _ detail: String,
        certificates: [CertificateSummary]? = nil,
        status: Int? = nil
    ) {
        report.steps.pass(step, since: start, detail, certificates: certificates, status: status)
    }

    /// The steps in order, each passing or throwing the one line that says what to fix.
    private mutating func checkAll() throws {
        let credentials = try resolveCredentials()
        pass(.credentials, since: nil, credentials.description)
        let destination = try Destination(endpoint: endpoint, environment: options.environment)
        report.proxy = destination.proxyLabel
        let network = NetworkSteps(timeout: timeout, caPEM: target.caPEM, caFile: endpoint.caFile)
        let addresses = try network.resolve(destination, steps: &report.steps)
        let connection = try network.connect(destination, addresses: addresses, steps: &report.steps)
        defer { connection.close() }
        try network.tunnel(destination, connection: connection, steps: &report.steps)
        try network.startTLS(destination, connection: connection, steps: &report.steps)
        try request(destination, connection: connection, credentials: credentials)
    }
}

/// A failed step and its one-line cause.
struct StepFailure: Error {
    var step: PreflightReport.Step.Name
    var line: String
    var milliseconds: Int?
    var certificates: [CertificateSummary]?
    var status: Int?

    init(
        step: PreflightReport.Step.Name,
        line: String,
        since start: Date? = nil,
        certificates: [CertificateSummary]? = nil,
        status: Int? = nil
    ) {
        self.step = step
        self.line = line
        self.milliseconds = start.map(elapsedMilliseconds)
        self.certificates = certificates
        self.status = status
    }
}

func elapsedMilliseconds(since start: Date) -> Int { Int((Date().timeIntervalSince(start) * 1000).rounded()) }

/// The proxy for a host: the endpoint's own `proxy:` settings, else the environment's.
struct ProxyChoice {
    var url: String
    var host: String
    var port: Int
    var origin: String

    init(url: String, host: String, port: Int, origin: String) {
        self.url = url
        self.host = host
        self.port = port
        self.origin = origin
    }

    init?(endpoint: ModelEndpoint, environment: [String: String], host: String, secure: Bool) {
        let configured: String?
        let noProxy: [String]
        let origin: String
        if let proxy = endpoint.proxy {
            configured = secure ? proxy.httpsProxy : proxy.httpProxy
            noProxy = proxy.noProxy
            origin = secure ? "proxy.httpsProxy" : "proxy.httpProxy"
        } else {
            let transport = TransportOptions(environment: environment)
            configured = secure ? transport.httpsProxy : transport.httpProxy
            noProxy = transport.noProxy
            origin = secure ? "HTTPS_PROXY" : "HTTP_PROXY"
        }
        guard let configured, !configured.isEmpty, !noProxyExcludes(host, rules: noProxy) else { return nil }
        let text = configured.contains("://") ? configured : "http://\(configured)"
        guard let components = URLComponents(string: text), let proxyHost = components.host else { return nil }
        url = text
        self.host = proxyHost
        port = components.port ?? 3128
        self.origin = origin
    }
}
