import AirlockCore
import ArgumentParser
import Foundation

/// The `airlock` command tree.
public struct AirlockCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "airlock",
        abstract: "Signed, verifiable bundles of OCI images, Helm charts and model-endpoint configs for air-gapped networks.",
        discussion: """
            Exit codes: 0 ok; 1 verification or a check failed; 2 usage or input error; 3 network or registry error.
            """,
        version: BundleFormat.toolVersion,
        subcommands: [
            KeyCommand.self, PackCommand.self, InspectCommand.self, VerifyCommand.self, UnpackCommand.self,
            SignCommand.self, SignFileCommand.self, ExtractCommand.self, DiffCommand.self, PushCommand.self, ServeCommand.self,
            LoginCommand.self,
            InventoryCommand.self, AuditCommand.self, HistoryCommand.self, PreflightCommand.self, ValuesCommand.self, ChartCommand.self,
            VersionCommand.self,
        ]
    )

    public init() {}

    /// Parses the arguments, runs the command, and turns every error into one line on stderr and
    /// the documented exit code. The only place that decides exit codes.
    public static func run(arguments: [String]? = nil) async {
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch let error as AirlockFailure {
            printError(error.message)
            Foundation.exit(error.status.rawValue)
        } catch {
            let parserCode = exitCode(for: error)
            if parserCode == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            if isParserError(error) {
                printError(fullMessage(for: error))
                Foundation.exit(ExitStatus.usage.rawValue)
            }
            printError("\(error)")
            Foundation.exit(exitStatus(for: error).rawValue)
        }
    }

    /// A usage error the argument parser found (it reports them all with the validation-failure
    /// code; errors of airlock's own get `failure` from it).
    private static func isParserError(_ error: any Error) -> Bool {
        error is ValidationError || exitCode(for: error) == .validationFailure
    }
}

/// A failure already worded for people, with its exit status.
struct AirlockFailure: Error {
    let message: String
    let status: ExitStatus
}

/// Writes one line to stderr, prefixed with `airlock: `.
func printError(_ message: String) {
    let line = message.hasPrefix("airlock:") ? message : "airlock: \(message)"
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// Writes a line to stderr without a prefix (progress, notes).
func note(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
