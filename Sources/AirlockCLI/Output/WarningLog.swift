import AirlockCore
import ArgumentParser
import Foundation
import OCI
import Signing

/// Warnings from a pack: printed to stderr as they come, in every output mode (`warning: ...`
/// lines, or one JSON event per line with `--output json`), and kept for the JSON result.
final class WarningLog: @unchecked Sendable {
    // @unchecked: `messages` is guarded by `lock`.
    private let lock = NSLock()
    private var messages: [String] = []
    private let format: OutputFormat

    init(format: OutputFormat) { self.format = format }

    func add(_ message: String) {
        lock.withLock { messages.append(message) }
        switch format {
        case .text:
            FileHandle.standardError.write(Data("warning: \(message)\n".utf8))
        case .json:
            let event = ["event": "warning", "message": message]
            if let data = try? JSONSerialization.data(withJSONObject: event, options: [.sortedKeys, .withoutEscapingSlashes]) {
                FileHandle.standardError.write(data + Data("\n".utf8))
            }
        }
    }

    var all: [String] { lock.withLock { messages } }
}
