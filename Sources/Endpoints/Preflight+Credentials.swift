internal import COpenSSL
import Foundation
import Registry

/// The credentials step: each secret an endpoint references resolved from the environment, a file
/// or a mounted Kubernetes secret, reported by where it came from, never by its value.
extension PreflightRun {
    func resolveCredentials() throws -> Credentials {
        var credentials = Credentials()
        func value(_ source: ModelEndpoint.ValueSource, field: String) throws -> String {
            switch source {
            case .env(let name):
                guard let value = options.environment[name], !value.isEmpty else {
                    throw StepFailure(
                        step: .credentials,
                        line: "\(field): environment variable \(name) is not set — export it before preflight"
                    )
                }
                return value
            case .file(let path):
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw StepFailure(step: .credentials, line: "\(field): cannot read file \(path) — mount or create it")
                }
                return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            case .secret(let name, let key):
                guard let directory = options.secretsDirectory else {
                    throw StepFailure(
                        step: .credentials,
                        line: """
                            \(field): Kubernetes secret \(name)/\(key) — give --secrets-dir DIR where it is mounted \
                            (DIR/\(name)/\(key))
                            """
                    )
                }
                guard let data = FileManager.default.contents(atPath: "\(directory)/\(name)/\(key)") else {
                    throw StepFailure(
                        step: .credentials,
                        line: "\(field): secret \(name)/\(key) is not at \(directory)/\(name)/\(key) — mount the secret there"
                    )
                }
                return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            }
        }
        if endpoint.auth.type != .none, let source = endpoint.auth.valueFrom {
            credentials.auth = (try value(source, field: "auth"), describe(source))
        }
        for header in endpoint.headers {
            if let literal = header.value {
                credentials.headers.append((header.name, literal, "literal"))
            } else if let source = header.valueFrom {
                credentials.headers.append((header.name, try value(source, field: "header \(header.name)"), describe(source)))
            }
        }
        credentials.authType = endpoint.auth.type
        if let header = endpoint.credentialHeader { credentials.authHeader = header }
        return credentials
    }
}

/// Where a secret comes from, for reports (never its value).
func describe(_ source: ModelEndpoint.ValueSource) -> String {
    switch source {
    case .env(let name): return "env \(name)"
    case .file(let path): return "file \(path)"
    case .secret(let name, let key): return "secret \(name)/\(key)"
    }
}

/// Resolved secret values, with where each came from.
struct Credentials: CustomStringConvertible {
    var authType: ModelEndpoint.Auth.Kind = .none
    var authHeader = "api-key"
    var auth: (value: String, origin: String)?
    var headers: [(name: String, value: String, origin: String)] = []

    /// Which header carries the credential and where its value came from (no value).
    var authDescription: String {
        switch authType {
        case .none: return "no auth"
        case .bearer: return "header Authorization: Bearer, from \(auth?.origin ?? "?")"
        case .apiKey: return "header \(authHeader), from \(auth?.origin ?? "?")"
        }
    }

    var description: String {
        let extra = headers.map { "\($0.name) (\($0.origin))" }
        return ([authDescription] + (extra.isEmpty ? [] : ["headers " + extra.joined(separator: ", ")])).joined(separator: "; ")
    }
}
