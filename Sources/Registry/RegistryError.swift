/// Failures talking to a registry, worded so a person knows what to do. Credentials never appear.
public enum RegistryError: Error, Sendable, CustomStringConvertible {
    /// The host could not be reached (DNS, refused, timed out, proxy down).
    case unreachable(host: String, detail: String)
    /// TLS failed, usually an unknown CA.
    case tls(host: String, detail: String)
    /// Credentials are missing or wrong.
    case unauthorized(host: String, detail: String)
    /// Authenticated but not allowed.
    case denied(host: String, repository: String, detail: String)
    /// The registry answered with an unexpected status.
    case status(host: String, operation: String, status: Int, detail: String)
    /// The registry broke the protocol (missing Location, bad token answer, ...).
    case protocolViolation(host: String, detail: String)
    /// Content did not match its digest: never retried.
    case digestMismatch(what: String, expected: String, actual: String)
    /// The registry computed another digest for bytes airlock had already checked against the
    /// signed digest before sending them: changed on the way, not in the bundle.
    case alteredInTransit(host: String, digest: String)
    /// A rate limit that will not lift soon enough to wait for.
    case rateLimited(host: String, until: String, detail: String)
    /// An upload `Location` that airlock will not follow (another host, or plain HTTP from HTTPS).
    case refusedLocation(host: String, location: String, reason: String)
    /// Target repositories that do not exist and must be created first (ECR, Quay organisations,
    /// Harbor and GitLab projects).
    /// `note` says more about some of them (what a repository is for, how to do without it).
    case missingRepositories(host: String, names: [String], note: String = "")

    public var description: String {
        switch self {
        case .unreachable(let host, let detail):
            return "cannot reach registry \(host): \(detail)"
        case .tls(let host, let detail):
            return
                """
                TLS with registry \(host) failed: \(detail); if it uses a private CA, pass --ca-file CA.pem (or --plain-http \(host) \
                for a registry without TLS)
                """
        case .unauthorized(let host, let detail):
            return "registry \(host) refused the credentials (\(detail)); run airlock login \(host)"
        case .denied(let host, let repository, let detail):
            return "registry \(host) denied access to \(repository): \(detail)"
        case .status(let host, let operation, let status, let detail):
            return "registry \(host): \(operation) answered HTTP \(status)\(detail.isEmpty ? "" : ": \(detail)")"
        case .protocolViolation(let host, let detail):
            return "registry \(host) broke the distribution protocol: \(detail)"
        case .digestMismatch(let what, let expected, let actual):
            return "\(what) does not match its digest \(expected) (got \(actual)): tampered or corrupted, nothing of it was committed"
        case .alteredInTransit(let host, let digest):
            return
                """
                registry \(host) received other bytes for blob \(digest) than airlock sent (they matched the signed digest before \
                sending): something on the way altered or cut them; push again, or look at the proxy in between
                """
        case .rateLimited(let host, let until, let detail):
            return
                """
                registry \(host) rate-limits this client until \(until)\(detail.isEmpty ? "" : " (\(detail))"); log in (airlock login \
                \(host)) for a higher limit, or run again after that
                """
        case .refusedLocation(let host, let location, let reason):
            return "registry \(host) sent the upload to \(location), which airlock does not follow: \(reason)"
        case .missingRepositories(let host, let names, let note):
            return
                """
                registry \(host) has no repository \(names.joined(separator: ", ")) and does not create them on push: create \
                \(names.count == 1 ? "it" : "them") (or the project or organisation) first\(note.isEmpty ? "" : " (\(note))"); \
                nothing was pushed
                """
        }
    }

    /// Whether this is a content problem (exit 1) rather than a network or registry one (exit 3).
    public var isContentFailure: Bool {
        if case .digestMismatch = self { return true }
        return false
    }
}
