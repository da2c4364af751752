import Foundation
import Registry

extension Destination {
    /// A model endpoint's `baseURL`, through its own proxy settings or else the environment's.
    init(endpoint: ModelEndpoint, environment: [String: String]) throws {
        try self.init(url: endpoint.baseURL, field: "baseURL") { host, secure in
            ProxyChoice(endpoint: endpoint, environment: environment, host: host, secure: secure)
        }
    }
}

/// The provider's request of a preflight, after the shared network steps (``NetworkSteps``).
extension PreflightRun {
    /// The provider's smallest request, and what its answer says about the key and the model.
    mutating func request(_ destination: Destination, connection: ProbeConnection, credentials: Credentials) throws {
        let host = destination.host
        let request = ProviderRequest(endpoint: endpoint, basePath: destination.url.path, credentials: credentials)
        let start = Date()
        let answer: HTTPAnswer
        do {
            answer = try connection.exchange(
                method: request.method,
                target: destination.requestTarget(request.path),
                host: destination.authority,
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
