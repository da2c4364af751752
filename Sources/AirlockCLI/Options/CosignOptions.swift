import AirlockCore
import ArgumentParser
import Foundation
import Signing

/// Whose cosign signatures every image must carry, on the commands that can require them: the
/// vendors' public keys, or (keyless) signer identities under a Sigstore trusted root.
struct CosignOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            """
            Require every image to carry a cosign signature that this public key (cosign.pub, PEM) verifies; repeat for several \
            vendors. The signatures travel with referrers: true.
            """,
            valueName: "COSIGN.pub"
        )
    )
    var cosignKey: [String] = []

    @Option(
        name: .long,
        help: ArgumentHelp(
            """
            Accept keyless (Fulcio certificate) signatures by this identity (the certificate's SAN: an email, or a URI such as \
            a CI workflow), exactly; repeatable. Needs --cosign-oidc-issuer and --trusted-root.
            """,
            valueName: "SAN"
        )
    )
    var cosignIdentity: [String] = []

    @Option(
        name: .long,
        help: ArgumentHelp("Accept keyless signatures whose identity matches this regular expression (whole SAN).", valueName: "REGEX")
    )
    var cosignIdentityRegexp: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The OIDC issuer keyless signers must have logged in with (e.g. https://token.actions.githubusercontent.com).",
            valueName: "URL"
        )
    )
    var cosignOidcIssuer: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Sigstore's trusted_root.json (Fulcio CAs, Rekor keys, timestamp authorities), carried in by the site; never fetched.",
            valueName: "FILE"
        )
    )
    var trustedRoot: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            """
            Every image must also carry a cosign attestation (in-toto statement) of this predicate type, signed by one of those keys \
            or identities; repeatable.
            """,
            valueName: "TYPE"
        )
    )
    var requireAttestation: [String] = []

    func trust() throws -> CosignTrust {
        let keyless = !cosignIdentity.isEmpty || cosignIdentityRegexp != nil
        if keyless || cosignOidcIssuer != nil || trustedRoot != nil {
            guard keyless, let cosignOidcIssuer, let trustedRoot else {
                throw AirlockFailure(
                    message:
                        "keyless signatures need all of --cosign-identity (or --cosign-identity-regexp), "
                        + "--cosign-oidc-issuer and --trusted-root",
                    status: .usage
                )
            }
            return CosignTrust(
                keys: try cosignKey.map { try PublicKey(contentsOf: $0) },
                keyless: try KeylessPolicy(
                    identities: cosignIdentity,
                    identityPattern: cosignIdentityRegexp,
                    issuer: cosignOidcIssuer,
                    root: try TrustedRoot(contentsOf: trustedRoot)
                )
            )
        }
        guard !cosignKey.isEmpty || requireAttestation.isEmpty else {
            throw AirlockFailure(
                message: "--require-attestation needs whose attestations count: give --cosign-key COSIGN.pub or --cosign-identity",
                status: .usage
            )
        }
        return CosignTrust(keys: try cosignKey.map { try PublicKey(contentsOf: $0) })
    }
}
