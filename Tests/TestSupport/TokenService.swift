import Foundation
import Testing

/// docker-registry with `auth: token`, and a small token issuer (`Tests/Fixtures/token-issuer.py`,
/// over HTTPS with a test CA) that signs the tokens the registry checks, each request it answers
/// logged as one JSON line.
package enum TokenService {
    /// A test CA and the token service's TLS certificate from it, and under `root` the
    /// token-signing key and its self-signed certificate (`signer.key`, `signer.pem`), which the
    /// registry trusts.
    package static func keys(root: String) throws -> (ca: TestCA, tls: (certificate: String, key: String)) {
        let ca = try TestCA(root: root, name: "Token Test CA")
        let tlsCertificate = try ca.issue("issuer")
        let signer = try Harness.run([
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "\(root)/signer.key", "-out", "\(root)/signer.pem", "-days", "2", "-subj", "/CN=token signer",
        ])
        try #require(signer.status == 0, "\(signer.stderr)")
        return (ca, tlsCertificate)
    }

    /// A token service (`Tests/Fixtures/token-issuer.py`, its behaviour chosen by `environment`,
    /// each request logged to `log`) and a docker-registry that takes its tokens.
    package static func start(
        root: String,
        tls: (certificate: String, key: String),
        log: String,
        username: String,
        password: String,
        environment: [String: String] = [:]
    ) throws -> (issuer: PythonServer, registry: TestRegistry) {
        let issuer = try PythonServer(
            fixture: "token-issuer.py",
            arguments: [
                tls.certificate, tls.key, "\(root)/signer.key", "\(root)/signer.pem",
                username, password, "airlock-test-issuer", "airlock-registry", log,
            ],
            interpreter: "\(Harness.packageRoot)/.venv/bin/python",
            environment: environment
        )
        do {
            let registry = try TestRegistry(
                tls: false,
                token: .init(
                    realm: "https://127.0.0.1:\(issuer.port)/token",
                    service: "airlock-registry",
                    issuer: "airlock-test-issuer",
                    rootCertBundle: "\(root)/signer.pem"
                )
            )
            return (issuer, registry)
        } catch {
            issuer.stop()
            throw error
        }
    }
}
