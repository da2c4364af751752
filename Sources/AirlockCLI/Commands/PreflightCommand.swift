import AirlockCore
import ArgumentParser
import Endpoints
import Foundation

struct PreflightCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preflight",
        abstract: "Prove each model endpoint works from here: DNS, proxy, TLS, and the provider's cheapest authenticated request.",
        discussion: """
            Reads the ModelEndpoint configs of a bundle (verified: give --key or --allow-unsigned), of an unpacked bundle
            folder, of a folder of ModelEndpoint files, or of one file. For each endpoint it resolves the credentials
            (env, file, or a Kubernetes secret mounted under --secrets-dir), resolves DNS, connects (through the proxy
            with CONNECT when one applies and noProxy does not exclude the host), completes TLS with the system trust
            store plus the endpoint's caFile, sends the provider's cheapest authenticated request, and checks that the
            model or deployment exists. Each failure is one line saying what to fix. Secret values are never printed.
            Exits 1 if any endpoint fails.
            """
    )

    @Argument(help: ArgumentHelp("A bundle, an unpacked bundle folder, or a ModelEndpoint file.", valueName: "BUNDLE|DIR|FILE"))
    var source: String

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
    }

    func run() throws {
        let targets = try PreflightInput.targets(path: source, policy: { try trust.policy() }, only: endpoint)
        let options = PreflightOptions(secretsDirectory: secretsDir, timeoutSeconds: timeout)
        let reports = targets.map { Preflight.run($0, options: options) }
        try outputOptions.emit(Result(ok: reports.allSatisfy(\.ok), endpoints: reports)) { reports.map(render).joined(separator: "\n") }
        if let failed = reports.first(where: { !$0.ok }) {
            throw AirlockFailure(
                message:
                    """
                    preflight failed for \(reports.filter { !$0.ok }.count) of \(reports.count) endpoint(s); first: \
                    \(failed.endpoint): \(failed.failure ?? "?")
                    """,
                status: .checkFailed
            )
        }
    }

    private func render(_ report: PreflightReport) -> String {
        var text = "\(report.endpoint) (\(report.provider), \(report.url))\(report.proxy.map { " via proxy \($0)" } ?? "")\n"
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
