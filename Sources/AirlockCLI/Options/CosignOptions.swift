import AirlockCore
import ArgumentParser
import Foundation
import Signing

/// The image vendor's cosign public keys, on the commands that can require image signatures.
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
            With --cosign-key: every image must also carry a cosign attestation (in-toto statement) of this predicate type, signed by \
            one of those keys; repeatable.
            """,
            valueName: "TYPE"
        )
    )
    var requireAttestation: [String] = []

    func keys() throws -> [PublicKey] {
        guard !cosignKey.isEmpty || requireAttestation.isEmpty else {
            throw AirlockFailure(message: "--require-attestation needs the vendor's key: give --cosign-key COSIGN.pub", status: .usage)
        }
        return try cosignKey.map { try PublicKey(contentsOf: $0) }
    }
}
