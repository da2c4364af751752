import AirlockCore
import ArgumentParser
import Foundation
import Registry
import Signing

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract:
            "Prove that what runs came from signed bundles: every tag of a registry, or every image digest listed, looked up in them.",
        discussion: """
            Each BUNDLE (a bundle, its parts, or only its detached .intoto.json envelope, which is small to keep) must be \
            signed by one of the --keys (or with a certificate under a --signer-root); its statement signs the digest \
            of every manifest it carried. With --registry \
            every tag of every repository there (under PREFIX, or those named with --repository) is looked up; with \
            --images FILE (or - for stdin) every image the cluster runs: kubectl get pods -A -o json (each container \
            named NAMESPACE/POD/CONTAINER), or one image digest per line (the pods' imageID). \
            A running image that no bundle carries, or every one when no BUNDLE and no --registry are given, counts \
            as signed when a delivery attestation (pack --attest) beside it in its registry verifies with a --key. \
            Exit 0 when every one came from a signed bundle, 1 when any did not (each is listed), 2 for bad input.
            """
    )

    @Argument(help: "The signed bundles (or their .intoto.json envelopes) to audit against.") var bundles: [String] = []
    @OptionGroup var trust: TrustOptions
    @Option(name: .long, help: ArgumentHelp("Audit every tag of this registry.", valueName: "HOST[:PORT][/PREFIX]")) var registry: String?
    @Option(
        name: .long,
        help: ArgumentHelp("With --registry: a repository (path under PREFIX) instead of the catalog; repeatable.", valueName: "NAME")
    )
    var repository: [String] = []
    @Option(
        name: .long,
        help: ArgumentHelp("Audit what runs: kubectl get pods -o json, or one image digest per line; - for stdin.", valueName: "FILE")
    )
    var images: String?
    @OptionGroup var registryOptions: RegistryOptions
    @OptionGroup var outputOptions: OutputOptions

    func run() async throws {
        guard !trust.allowUnsigned else {
            throw AirlockFailure(message: "audit proves signatures: --allow-unsigned has no place here", status: .usage)
        }
        let policy = try trust.policy()
        guard registry != nil || images != nil else {
            throw AirlockFailure(
                message: "say what runs: --registry HOST[/PREFIX] and/or --images FILE (the pods' imageIDs)",
                status: .usage
            )
        }
        var listed: [Auditor.ListedImage] = []
        if let images {
            let data = images == "-" ? FileHandle.standardInput.readDataToEndOfFile() : FileManager.default.contents(atPath: images)
            guard let data else { throw AirlockFailure(message: "cannot read --images \(images)", status: .usage) }
            listed = try Auditor.parseImages(String(decoding: data, as: UTF8.self), source: images == "-" ? "stdin" : images)
        }
        let inventory = try registry.map {
            RegistryInventory.Options(
                registry: $0,
                repositories: repository,
                transport: try registryOptions.transport(),
                created: Int64(Date().timeIntervalSince1970)
            )
        }
        let report = try await Auditor.audit(
            bundles: bundles,
            policy: policy,
            registry: inventory,
            images: listed,
            transport: try registryOptions.transport()
        )
        try outputOptions.emit(report) {
            var text =
                report.bundles.isEmpty
                ? "no bundles given: running images proven by the delivery attestations beside them\n"
                : "every bundle's signature verified: " + report.bundles.map { "\($0.name) \($0.version)" }.joined(separator: ", ") + "\n"
            for finding in report.findings {
                text +=
                    finding.signed
                    ? """
                    signed    \(finding.reference) \(finding.digest): \(finding.what ?? "") in \
                    \(finding.bundles.joined(separator: ", "))\n
                    """
                    : "UNSIGNED  \(finding.reference) \(finding.digest): in none of the bundles given, with no trusted delivery attestation"
                        + (finding.signedAs ?? []).map { "; \($0.bundle) signed \($0.name) as \($0.digest)" }.joined() + "\n"
            }
            text +=
                "\(report.signed) of \(report.findings.count) from signed bundles" + (report.registry.map { " (registry \($0))" } ?? "")
                + (report.unsigned > 0 ? "; \(report.unsigned) not\n" : "\n")
            return text
        }
        if report.unsigned > 0 { throw ExitCode(ExitStatus.checkFailed.rawValue) }
    }
}
