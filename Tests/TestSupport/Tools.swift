import Foundation
import Testing

/// The real tools tests run, by name on PATH. A test that needs some says so with a trait,
/// `@Test(.needs(.dockerRegistry, .skopeo))`: it runs when they are installed, and always in CI,
/// where a missing tool fails the run instead of skipping it (the set-up installs them all).
package enum Tool: String, Sendable {
    case dockerRegistry = "docker-registry"
    case skopeo
    case python3
    case zstd
    case tar
    case openssl
    case sha256sum
    case htpasswd
    case tinyproxy
    case unshare
    case mount
    case softhsm2Util = "softhsm2-util"
    case pkcs11Tool = "pkcs11-tool"
    case containerd
    case ctr
}

extension Trait where Self == ConditionTrait {
    /// Runs the test (or suite) only where these tools are installed, and always in CI.
    package static func needs(_ tools: Tool...) -> Self {
        .enabled(
            if: Harness.isCI || tools.allSatisfy { Harness.has($0.rawValue) },
            "needs \(tools.map(\.rawValue).joined(separator: ", "))"
        )
    }
}
