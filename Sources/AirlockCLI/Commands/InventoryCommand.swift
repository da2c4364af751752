import AirlockCore
import ArgumentParser
import Foundation
import Registry
import Signing

struct InventoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inventory",
        abstract: "List what a registry holds (repositories, tags, blobs), for the next pack to leave out (pack --since FILE).",
        discussion: """
            Run it inside the network against the private registry and carry the file out: a pack with --since FILE \
            then leaves out every layer the registry already has and does not pull them, and a push of that delta \
            checks they are still there (mounting them from the repository listed) before it sends anything. \
            It walks every tag of every repository in the registry's catalog (only those under PREFIX when given), or \
            of the repositories named with --repository, down to configs and layers. The file holds repository names, \
            tags and digests, nothing else; read it before it leaves. The time recorded is SOURCE_DATE_EPOCH, else now.
            """
    )

    @Option(name: .long, help: ArgumentHelp("The registry.", valueName: "HOST[:PORT][/PREFIX]")) var registry: String
    @Option(
        name: .long,
        help: ArgumentHelp("A repository (path under PREFIX) to list instead of the catalog; repeatable.", valueName: "NAME")
    )
    var repository: [String] = []
    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the inventory.", valueName: "FILE")) var out = "inventory.json"
    @OptionGroup var registryOptions: RegistryOptions
    @Flag(name: .shortAndLong, help: "No progress on stderr.") var quiet = false
    @OptionGroup var outputOptions: OutputOptions

    struct Result: Encodable {
        let registry: String
        let file: String
        let created: String
        let repositories: Int
        let tags: Int
        let blobs: Int
        let bytes: Int64
    }

    func run() async throws {
        let options = RegistryInventory.Options(
            registry: registry,
            repositories: repository,
            transport: try registryOptions.transport(),
            created: try sourceDateEpoch() ?? Int64(Date().timeIntervalSince1970)
        )
        let progress = quiet || outputOptions.output == .json ? { @Sendable (_: String) in } : { @Sendable in note("listing \($0)") }
        let inventory = try await RegistryInventory.take(options, progress: progress)
        do {
            try inventory.encoded().write(to: URL(fileURLWithPath: out), options: .atomic)
        } catch {
            throw AirlockFailure(message: "cannot write \(out): \(error.localizedDescription)", status: .io)
        }
        let result = Result(
            registry: registry,
            file: out,
            created: inventory.created,
            repositories: inventory.repositories.count,
            tags: inventory.repositories.reduce(0) { $0 + $1.tags.count },
            blobs: inventory.blobs.count,
            bytes: inventory.blobs.reduce(0) { $0 + $1.size }
        )
        try outputOptions.emit(result) {
            """
            inventory of \(registry): \(result.repositories) repositories, \(result.tags) tags, \(result.blobs) blobs \
            (\(formatBytes(result.bytes))) in \(out)\n
            """
                + "carry it out and pack with --since \(out): layers the registry holds are left out\n"
        }
    }
}
