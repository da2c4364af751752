import AirlockCore
import ArgumentParser
import Foundation
import Signing

/// Trusted public keys for reading bundles.
struct TrustOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("A trusted public key (PEM); repeat for several.", valueName: "NAME.pub"))
    var key: [String] = []

    @Option(
        name: .long,
        help: ArgumentHelp(
            """
            Trust a signature whose certificate (pack --cert) chains to this CA (PEM; a root or an intermediate) and is for code \
            signing, valid at --signer-time; repeatable.
            """,
            valueName: "CA.pem"
        )
    )
    var signerRoot: [String] = []

    @Option(
        name: .long,
        help: ArgumentHelp(
            """
            When the signer's certificate chain must be valid: now (the default), created (the time the bundle states it was made: \
            for auditing a bundle after its certificate expired), or an RFC 3339 time.
            """,
            valueName: "now|created|TIME"
        )
    )
    var signerTime = "now"

    @Flag(name: .long, help: "Accept a bundle that carries no signature (reported loudly).")
    var allowUnsigned = false

    func policy() throws -> SignaturePolicy {
        let keys = try key.map { path in
            if let text = FileManager.default.contents(atPath: path), String(decoding: text, as: UTF8.self).contains("BEGIN CERTIFICATE") {
                throw AirlockFailure(
                    message: "--key \(path) is a certificate, not a public key: trust its CA with --signer-root \(path)",
                    status: .usage
                )
            }
            return try PublicKey(contentsOf: path)
        }
        let time: CertificateTrust.Time
        switch signerTime {
        case "now": time = .now
        case "created": time = .created
        default:
            guard let seconds = parseRFC3339(signerTime) else {
                throw AirlockFailure(
                    message: "--signer-time takes now, created, or an RFC 3339 time such as 2026-11-01T00:00:00Z",
                    status: .usage
                )
            }
            time = .fixed(seconds)
        }
        let trust = signerRoot.isEmpty ? nil : CertificateTrust(roots: try CertificateRoots(contentsOf: signerRoot), time: time)
        if allowUnsigned { return .allowUnsigned(keys, certificates: trust) }
        guard !keys.isEmpty || trust != nil else {
            throw AirlockFailure(
                message:
                    """
                    give the signer's public key with --key NAME.pub, or its CA with --signer-root ROOT.pem (or --allow-unsigned for \
                    an unsigned bundle)
                    """,
                status: .usage
            )
        }
        return .trusted(keys, certificates: trust)
    }
}
