import Foundation
import OCI
import StrictYAML

/// Renaming rules for push targets (`--rules FILE`):
///
/// ```yaml
/// rules:
///   - match: registry.example.com/team/   # a prefix of the source's registry/repository (charts: charts/NAME)
///     replace: platform/                  # what it becomes under HOST[/PREFIX]
/// ```
/// The first matching rule applies; sources no rule matches keep their path.
public struct PushRules: Sendable {
    public struct Rule: Sendable {
        public let match: String
        public let replace: String
    }

    public let rules: [Rule]

    public init(rules: [Rule] = []) { self.rules = rules }

    public static func load(path: String) throws -> PushRules {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw InputError(file: path, line: nil, "no such file or not readable")
        }
        guard let document = try parseDocuments(text, file: path).first else { throw InputError(file: path, line: nil, "empty rules file") }
        let top = try document.mapping(allowed: ["rules"])
        let rules = try top.list("rules").map { node -> Rule in
            let rule = try node.mapping(allowed: ["match", "replace"])
            let replace = try rule["replace"]?.scalar() ?? ""
            return Rule(match: try rule.string("match"), replace: replace)
        }
        return PushRules(rules: rules)
    }

    /// The path a source lands at (before the target's prefix): `source` is `registry/repository`
    /// for images and `charts/NAME` for charts; `fallback` is the path kept by default.
    func path(for source: String, fallback: String) throws -> String {
        guard let rule = rules.first(where: { source.hasPrefix($0.match) }) else { return fallback }
        let renamed = rule.replace + source.dropFirst(rule.match.count)
        let trimmed = renamed.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        guard !trimmed.isEmpty, (try? ImageReference("example.invalid/\(trimmed):1")) != nil else {
            throw PushError.badRule(match: rule.match, replace: rule.replace, source: source, result: trimmed)
        }
        return trimmed
    }
}
