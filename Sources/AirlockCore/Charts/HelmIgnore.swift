import Foundation

/// `.helmignore` rules, matched the way Helm's `pkg/ignore` does: shell globs, against the base
/// name for patterns without a slash and the relative path otherwise, `dir/` for directories only,
/// `!` for negation, plus Helm's default of ignoring hidden files under `templates/`.
struct HelmIgnore {
    struct Rule {
        var pattern: String
        var negate: Bool
        var directoryOnly: Bool
    }

    var rules: [Rule] = []

    init(text: String) {
        for line in ["templates/.?*"] + text.split(whereSeparator: \.isNewline).map(String.init) {
            var rule = line.trimmingCharacters(in: .whitespaces)
            if rule.isEmpty || rule.hasPrefix("#") || rule == "/" { continue }
            let negate = rule.hasPrefix("!")
            if negate { rule.removeFirst() }
            let directoryOnly = rule.hasSuffix("/")
            if directoryOnly { rule.removeLast() }
            if rule.hasPrefix("/") { rule.removeFirst() }
            rules.append(Rule(pattern: rule, negate: negate, directoryOnly: directoryOnly))
        }
    }

    /// Helm's `Rules.Ignore`, negation semantics included.
    func ignores(_ path: String, isDirectory: Bool) -> Bool {
        for rule in rules {
            if rule.negate {
                if rule.directoryOnly && !isDirectory { return true }
                if !matches(rule, path) { return true }
                continue
            }
            if rule.directoryOnly && !isDirectory { continue }
            if matches(rule, path) { return true }
        }
        return false
    }

    private func matches(_ rule: Rule, _ path: String) -> Bool {
        let subject = rule.pattern.contains("/") ? path : (path.split(separator: "/").last.map(String.init) ?? path)
        return fnmatch(rule.pattern, subject, FNM_PATHNAME) == 0
    }

    /// The chart's files that are not ignored, sorted bytewise; refuses links and special files.
    func files(in root: String, what: String) throws -> [String] {
        var out: [String] = []
        func walk(_ relative: String) throws {
            let full = relative.isEmpty ? root : "\(root)/\(relative)"
            let names = try FileManager.default.contentsOfDirectory(atPath: full).sorted {
                Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8))
            }
            for name in names {
                let path = relative.isEmpty ? name : "\(relative)/\(name)"
                let type = try FileManager.default.attributesOfItem(atPath: "\(root)/\(path)")[.type] as? FileAttributeType
                switch type {
                case .typeDirectory?:
                    if !ignores(path, isDirectory: true) { try walk(path) }
                case .typeRegular?:
                    if !ignores(path, isDirectory: false) { out.append(path) }
                default:
                    if !ignores(path, isDirectory: false) {
                        throw ChartError.linkInChart(what: what, path: path)
                    }
                }
            }
        }
        try walk("")
        return out.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }
}
