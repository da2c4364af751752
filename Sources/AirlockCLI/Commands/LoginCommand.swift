import AirlockCore
import ArgumentParser
import Foundation
import Registry
import Signing

struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Check credentials against a registry and store them in docker's config.json.",
        discussion: "Writes $REGISTRY_AUTH_FILE, $DOCKER_CONFIG/config.json or ~/.docker/config.json (mode 0600)."
    )

    @Argument(help: "The registry.") var host: String
    @Option(name: .shortAndLong, help: "User name.") var username: String
    @Flag(name: .long, help: "Read the password from standard input (the only way: it never appears in arguments).")
    var passwordStdin = false
    @OptionGroup var registryOptions: RegistryOptions
    @OptionGroup var outputOptions: OutputOptions

    struct Result: Encodable {
        let registry: String
        let username: String
        let configFile: String
    }

    func run() async throws {
        guard passwordStdin else {
            throw AirlockFailure(message: "give the password on standard input with --password-stdin", status: .usage)
        }
        let input = FileHandle.standardInput.readDataToEndOfFile()
        let password = String(decoding: input, as: UTF8.self).trimmingCharacters(in: .newlines)
        guard !password.isEmpty else { throw AirlockFailure(message: "no password on standard input", status: .usage) }
        // Check the credentials with a throwaway store holding only them.
        let scratch = NSTemporaryDirectory() + "airlock-login-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let trial = CredentialStore(environment: ["DOCKER_CONFIG": scratch])
        try trial.store(username: username, password: password, for: host)
        let client = try RegistryClient(host: host, options: try registryOptions.transport(), credentials: trial)
        try await withShutdown(client.shutdown) { try await client.ping() }
        let store = CredentialStore()
        try store.store(username: username, password: password, for: host)
        try outputOptions.emit(Result(registry: host, username: username, configFile: store.configPath)) {
            "logged in to \(host) as \(username); credentials stored in \(store.configPath)\n"
        }
    }
}
