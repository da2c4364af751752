import AirlockCore
import ArgumentParser
import Foundation
import Registry
import Signing

/// `--ca-file` and `--plain-http`, on every command that talks to registries.
struct RegistryOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("A PEM CA bundle trusted in addition to the system's; repeatable.", valueName: "PEM"))
    var caFile: [String] = []

    @Option(
        name: .long,
        help: ArgumentHelp("Speak plain HTTP to this registry (never a silent fallback); repeatable.", valueName: "HOST[:PORT]")
    )
    var plainHttp: [String] = []

    @Option(name: .long, help: "Parallel transfers.")
    var jobs = 4

    func transport() throws -> TransportOptions {
        for file in caFile where !FileManager.default.isReadableFile(atPath: file) {
            throw AirlockFailure(message: "--ca-file \(file) does not exist or is not readable", status: .usage)
        }
        guard (1...64).contains(jobs) else { throw AirlockFailure(message: "--jobs must be between 1 and 64", status: .usage) }
        var options = TransportOptions(caFiles: caFile, plainHTTPHosts: Set(plainHttp), jobs: jobs)
        options.userAgent = "airlock/\(BundleFormat.toolVersion)"
        return options
    }
}
