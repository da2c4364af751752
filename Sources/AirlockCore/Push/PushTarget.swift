import Foundation
import OCI

/// `HOST[:PORT][/PREFIX]`.
struct PushTarget: Sendable {
    let host: String
    let prefix: String

    init(_ text: String) throws {
        let trimmed = text.hasPrefix("https://") || text.hasPrefix("http://") ? nil : text
        guard let trimmed, !trimmed.isEmpty else {
            throw PushError.badTarget
        }
        let parts = trimmed.split(separator: "/", maxSplits: 1).map(String.init)
        try self.init(host: parts[0], prefix: parts.count > 1 ? parts[1] : "")
    }

    init(host: String, prefix: String) throws {
        self.host = host
        self.prefix = prefix.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        if !self.prefix.isEmpty, (try? ImageReference("\(host)/\(self.prefix)/x:1")) == nil {
            throw PushError.badPrefix(self.prefix)
        }
    }

    /// The repository `path` lands in: `PREFIX/path`, checked.
    func repository(for path: String) throws -> RepositoryName { try RepositoryName(prefix.isEmpty ? path : "\(prefix)/\(path)") }
}
