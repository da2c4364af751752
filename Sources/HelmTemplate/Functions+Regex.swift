import Foundation

/// Sprig's `regex*` functions over Foundation's regular expressions (RE2 and ICU agree on the
/// syntax charts use), with Go's `$1`/`${name}` replacement expansion.
extension SprigStrings {
    static var regexFunctions: [String: TemplateFunction] {
        var table: [String: TemplateFunction] = [:]
        for must in [false, true] {
            let prefix = must ? "mustRegex" : "regex"
            table[prefix + "Match"] = { args in
                let a = try Arguments("regexMatch", args, count: 2)
                guard let regex = try compile(try a.string(0), must: must) else { return .bool(false) }
                let text = try a.string(1)
                return .bool(regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil)
            }
            table[prefix + "Find"] = { args in
                let a = try Arguments("regexFind", args, count: 2)
                guard let regex = try compile(try a.string(0), must: must) else { return .string("") }
                let text = try a.string(1)
                guard let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
                    let range = Range(match.range, in: text)
                else { return .string("") }
                return .string(String(text[range]))
            }
            table[prefix + "FindAll"] = { args in
                let a = try Arguments("regexFindAll", args, count: 3)
                guard let regex = try compile(try a.string(0), must: must) else { return .strings([]) }
                let text = try a.string(1)
                var found = regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap {
                    Range($0.range, in: text).map { String(text[$0]) }
                }
                let limit = try a.int(2)
                if limit >= 0 { found = Array(found.prefix(limit)) }
                return .strings(found)
            }
            table[prefix + "ReplaceAll"] = { args in
                let a = try Arguments("regexReplaceAll", args, count: 3)
                guard let regex = try compile(try a.string(0), must: must) else { return .string("") }
                return .string(replace(regex, in: try a.string(1), with: try a.string(2), literal: false))
            }
            table[prefix + "ReplaceAllLiteral"] = { args in
                let a = try Arguments("regexReplaceAllLiteral", args, count: 3)
                guard let regex = try compile(try a.string(0), must: must) else { return .string("") }
                return .string(replace(regex, in: try a.string(1), with: try a.string(2), literal: true))
            }
            table[prefix + "Split"] = { args in
                let a = try Arguments("regexSplit", args, count: 3)
                guard let regex = try compile(try a.string(0), must: must) else { return .strings([]) }
                return .strings(split(regex, try a.string(1), limit: try a.int(2)))
            }
        }
        table["regexQuoteMeta"] = unary { NSRegularExpression.escapedPattern(for: $0) }
        return table
    }

    /// The compiled pattern; a bad one is an error for the `must` forms and nil (Sprig's
    /// silent failure) otherwise.
    private static func compile(_ pattern: String, must: Bool) throws -> NSRegularExpression? {
        if let cached = RegexCache.shared.get(pattern) { return cached }
        do {
            let regex = try NSRegularExpression(pattern: pattern)
            RegexCache.shared.put(pattern, regex)
            return regex
        } catch {
            if must { throw FunctionError("error parsing regexp: invalid pattern `\(pattern)`") }
            throw FunctionError("error parsing regexp: invalid pattern `\(pattern)`")
        }
    }

    private static func replace(_ regex: NSRegularExpression, in text: String, with template: String, literal: Bool) -> String {
        let nsText = text as NSString
        var out = ""
        var last = 0
        for match in regex.matches(in: text, range: NSRange(location: 0, length: nsText.length)) {
            out += nsText.substring(with: NSRange(location: last, length: match.range.location - last))
            out += literal ? template : expand(template, match: match, in: nsText, regex: regex)
            last = match.range.location + match.range.length
        }
        out += nsText.substring(from: last)
        return out
    }

    /// Go's `Regexp.Expand`: `$1`, `${1}`, `$name`, `${name}`, `$$`; a name is the longest run
    /// of letters, digits and underscores, and an unknown group expands to nothing.
    private static func expand(_ template: String, match: NSTextCheckingResult, in text: NSString, regex: NSRegularExpression) -> String {
        var out = ""
        var characters = Substring(template)
        while let dollar = characters.firstIndex(of: "$") {
            out += characters[..<dollar]
            characters = characters[characters.index(after: dollar)...]
            if characters.first == "$" {
                out += "$"
                characters = characters.dropFirst()
                continue
            }
            var name: Substring
            if characters.first == "{" {
                guard let close = characters.firstIndex(of: "}") else { out += "$"; continue }
                name = characters[characters.index(after: characters.startIndex)..<close]
                characters = characters[characters.index(after: close)...]
            } else {
                let end = characters.firstIndex { !($0.isLetter || $0.isNumber || $0 == "_") } ?? characters.endIndex
                name = characters[..<end]
                characters = characters[end...]
                if name.isEmpty { out += "$"; continue }
            }
            var range = NSRange(location: NSNotFound, length: 0)
            if let number = Int(name) {
                if number < match.numberOfRanges { range = match.range(at: number) }
            } else {
                range = match.range(withName: String(name))
            }
            if range.location != NSNotFound { out += text.substring(with: range) }
        }
        out += characters
        return out
    }

    private static func split(_ regex: NSRegularExpression, _ text: String, limit: Int) -> [String] {
        if limit == 0 { return [] }
        let nsText = text as NSString
        var parts: [String] = []
        var last = 0
        for match in regex.matches(in: text, range: NSRange(location: 0, length: nsText.length)) {
            if limit > 0, parts.count == limit - 1 { break }
            if match.range.length == 0 && match.range.location == 0 { continue }
            parts.append(nsText.substring(with: NSRange(location: last, length: match.range.location - last)))
            last = match.range.location + match.range.length
        }
        parts.append(nsText.substring(from: last))
        return parts
    }
}

/// Compiled patterns by text: charts call the same few patterns thousands of times.
final class RegexCache: @unchecked Sendable {
    // @unchecked: `table` is guarded by `lock`.
    static let shared = RegexCache()
    private let lock = NSLock()
    private var table: [String: NSRegularExpression] = [:]

    func get(_ pattern: String) -> NSRegularExpression? { lock.withLock { table[pattern] } }

    func put(_ pattern: String, _ regex: NSRegularExpression) {
        lock.withLock { if table.count < 512 { table[pattern] = regex } }
    }
}
