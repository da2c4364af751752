import AirlockCore
import ArgumentParser
import Endpoints
import Foundation

struct PreflightCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preflight",
        abstract: """
            Prove each model endpoint works from here (DNS, proxy, TLS, the provider's cheapest authenticated request), \
            and each Egress path answers or stays blocked.
            """,
        discussion: """
            Reads the ModelEndpoint configs of a bundle (verified: give --key or --allow-unsigned), of an unpacked bundle
            folder, of a folder of ModelEndpoint files, or of one file. For each endpoint it resolves the credentials
            (env, file, or a Kubernetes secret mounted under --secrets-dir), resolves DNS, connects (through the proxy
            with CONNECT when one applies and noProxy does not exclude the host), completes TLS with the system trust
            store plus the endpoint's caFile, sends the provider's cheapest authenticated request, and checks that the
            model or deployment exists. Egress documents (kind: Egress; carried in the bundle, or given with --egress) list
            paths the platform needs (reach: any HTTP answer through the given path, via proxy or direct, proves it) and
            paths it must not have (block: a DNS failure, a refusal or a time-out both directly and through the proxy;
            any connection, granted tunnel or answer is a FAILED line). The proxy is the site file's (--site), else
            HTTPS_PROXY/HTTP_PROXY. Each failure is one line saying what to fix. Secret values are never printed.
            Exits 1 if any check fails.
            """
    )

    @Argument(help: ArgumentHelp("A bundle, an unpacked bundle folder, or a ModelEndpoint or Egress file.", valueName: "BUNDLE|DIR|FILE"))
    var source: String

    @Option(name: .long, help: ArgumentHelp("An Egress file to check as well; repeatable.", valueName: "FILE"))
    var egress: [String] = []

    @Option(
        name: .long,
        help: ArgumentHelp("The site file (kind: Site): its proxy is the one Egress checks go through.", valueName: "FILE")
    )
    var site: String?

    @Option(name: .long, help: ArgumentHelp("Check only this endpoint; repeatable.", valueName: "NAME"))
    var endpoint: [String] = []

    @Option(name: .long, help: ArgumentHelp("Where Kubernetes secrets are mounted: DIR/NAME/KEY.", valueName: "DIR"))
    var secretsDir: String?

    @Option(
        name: .long,
        help: ArgumentHelp("Seconds per step, instead of each endpoint's timeoutSeconds (default 10).", valueName: "SECONDS")
    )
    var timeout: Int?

    @OptionGroup var trust: TrustOptions
    @OptionGroup var outputOptions: OutputOptions

    func validate() throws {
        if let timeout, !(1...3600).contains(timeout) { throw ValidationError("--timeout must be between 1 and 3600 seconds") }
    }

    struct Result: Encodable {
        let ok: Bool
        let endpoints: [PreflightReport]
        let egress: [PreflightReport]
    }

    func run() throws {
        let checks = try PreflightInput.load(path: source, policy: { try trust.policy() }, only: endpoint, extraEgress: egress)
        let options = PreflightOptions(secretsDirectory: secretsDir, timeoutSeconds: timeout)
        // The site file is read before any check runs, so a bad one fails at once.
        let proxy =
            try site.map { try Site.load(path: $0) }.flatMap { site in
                site.proxy.map { EgressProxy(httpsProxy: $0.httpsProxy, httpProxy: $0.httpProxy, origin: "\(site.file) proxy") }
            } ?? EgressProxy.environment(ProcessInfo.processInfo.environment)
        let reports = checks.endpoints.map { Preflight.run($0, options: options) }
        let paths = checks.egress.flatMap { EgressCheck.run($0, proxy: proxy, timeoutSeconds: timeout) }
        let all = reports + paths
        try outputOptions.emit(Result(ok: all.allSatisfy(\.ok), endpoints: reports, egress: paths)) {
            all.map(render).joined(separator: "\n")
        }
        if let failed = all.first(where: { !$0.ok }) {
            throw AirlockFailure(
                message:
                    """
                    preflight failed for \(all.filter { !$0.ok }.count) of \(all.count) check(s); first: \
                    \(failed.endpoint): \(failed.failure ?? "?")
                    """,
                status: .checkFailed
            )
        }
    }

    private func render(_ report: PreflightReport) -> String {
        let what = report.check.map { "egress \($0.rawValue)" } ?? report.provider
        var text = "\(report.endpoint) (\(what), \(report.url))\(report.proxy.map { " via proxy \($0)" } ?? "")\n"
        for step in report.steps {
            let time = step.milliseconds.map { "\($0) ms" } ?? ""
            let name = step.name.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0)
            text += "  \(step.ok ? "ok    " : "FAILED") \(name) \(time.padding(toLength: 8, withPad: " ", startingAt: 0)) \(step.detail)\n"
            if let chain = step.certificates, chain.count > 1 {
                for certificate in chain.dropFirst() {
                    text += "         \(String(repeating: " ", count: 21))\(certificate.subject), issued by \(certificate.issuer)\n"
                }
            }
        }
        text += report.ok ? "  → ok\n" : "  → FAILED: \(report.failure ?? "?")\n"
        return text
    }
}
