import AirlockCore
import ArgumentParser
import Foundation
import Signing

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// `--output text|json`, on every command.
struct OutputOptions: ParsableArguments {
    @Option(name: .long, help: "Result format on stdout: text or json.")
    var output: OutputFormat = .text

    /// Prints a result: JSON (sorted keys) or the given text.
    func emit<T: Encodable>(_ value: T, text: () -> String) throws {
        switch output {
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(value), as: UTF8.self))
        case .text:
            print(text(), terminator: "")
        }
    }
}
