import AirlockCore
import ArgumentParser
import Foundation

/// `airlock history`: what the registry's import ledger remembers.
struct HistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "List the imports a registry's ledger records, oldest first, each signature checked.",
        discussion: """
            Every airlock push (unless --no-ledger) records the bundle's signed envelope in PREFIX/airlock/imports (or \
            --ledger). Each entry is listed with when it was pushed, the bundle's name, version and creation time, its \
            statement's digest, its signers and what it brought; an entry whose signature does not verify with the given \
            --key or --signer-root is shown as NOT VERIFIED (exit 1).
            """
    )

    @Option(name: .long, help: ArgumentHelp("The registry.", valueName: "HOST[:PORT][/PREFIX]")) var registry: String
    @Option(name: .long, help: ArgumentHelp("The ledger's repository under the prefix (default airlock/imports).", valueName: "REPO"))
    var ledger: String?
    @OptionGroup var trust: TrustOptions
    @OptionGroup var registryOptions: RegistryOptions
    @OptionGroup var outputOptions: OutputOptions

    func run() async throws {
        let report = try await ImportHistory.read(
            registry: registry,
            ledger: ledger,
            policy: try trust.policy(),
            transport: try registryOptions.transport()
        )
        try outputOptions.emit(report) {
            var text = "ledger \(report.ledger): \(report.imports.count) import(s)\n"
            for entry in report.imports {
                text +=
                    """
                    \(entry.pushedAt)  \(entry.name) \(entry.version) (created \(entry.created))  \(entry.images) image(s), \
                    \(entry.charts) chart(s)  
                    """
                text += entry.verified ? "signed by \(entry.signers.joined(separator: ", "))" : "NOT VERIFIED: \(entry.failure ?? "?")"
                text += "\n    statement \(entry.statementDigest)\n"
            }
            return text
        }
        if report.imports.contains(where: { !$0.verified }) {
            throw AirlockFailure(
                message: "\(report.imports.filter { !$0.verified }.count) ledger entr(ies) do not verify with the trusted keys",
                status: .checkFailed
            )
        }
    }
}
