import Foundation

/// A SemVer 2 version as Helm reads chart versions (a leading `v` allowed).
public struct SemanticVersion: Comparable, CustomStringConvertible, Sendable {
    public var major: UInt64
    public var minor: UInt64
    public var patch: UInt64
    public var prerelease: [String]
    /// The text it was parsed from (chart files are named by it).
    public var original: String

    public init?(_ text: String) {
        guard isSemVer(text) else { return nil }
        var core = Substring(text.hasPrefix("v") ? String(text.dropFirst()) : text)
        if let plus = core.firstIndex(of: "+") { core = core[..<plus] }
        var pre: [String] = []
        if let dash = core.firstIndex(of: "-") {
            pre = core[core.index(after: dash)...].split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            core = core[..<dash]
        }
        let numbers = core.split(separator: ".").compactMap { UInt64($0) }
        guard numbers.count == 3 else { return nil }
        (major, minor, patch, prerelease, original) = (numbers[0], numbers[1], numbers[2], pre, text)
    }

    public var description: String { original }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        (lhs.major, lhs.minor, lhs.patch) == (rhs.major, rhs.minor, rhs.patch) && lhs.prerelease == rhs.prerelease
    }

    /// SemVer precedence: a pre-release sorts before its release; identifiers compare numerically
    /// when both are numbers, numbers before words otherwise.
    public static func < (lhs: Self, rhs: Self) -> Bool {
        if (lhs.major, lhs.minor, lhs.patch) != (rhs.major, rhs.minor, rhs.patch) {
            return (lhs.major, lhs.minor, lhs.patch) < (rhs.major, rhs.minor, rhs.patch)
        }
        switch (lhs.prerelease.isEmpty, rhs.prerelease.isEmpty) {
        case (true, _): return false
        case (false, true): return true
        default: break
        }
        for (left, right) in zip(lhs.prerelease, rhs.prerelease) where left != right {
            switch (UInt64(left), UInt64(right)) {
            case let (l?, r?): return l < r
            case (.some, nil): return true
            case (nil, .some): return false
            default: return left < right
            }
        }
        return lhs.prerelease.count < rhs.prerelease.count
    }
}

/// A version constraint as Helm (Masterminds semver v3) reads a dependency's `version:`: exact
/// versions, `=`, `!=`, `>`, `>=`, `<`, `<=`, `~`, `^`, `x`/`*` wildcards, hyphen ranges
/// (`1.2 - 1.4`), `,` or spaces for "and", `||` for "or". A pre-release version matches only a
/// clause that itself names a pre-release.
public struct VersionConstraint: CustomStringConvertible, Sendable {
    private struct Clause: Sendable {
        enum Operator: String, Sendable {
            case equal = "=", notEqual = "!=", greater = ">", greaterOrEqual = ">=", less = "<", lessOrEqual = "<=", tilde = "~", caret =
                "^"
        }
        var op: Operator
        /// The numbers given before the first wildcard or missing part (0 to 3 of them).
        var given: [UInt64]
        var prerelease: [String]

        private var floor: SemanticVersion { version(given + Array(repeating: 0, count: 3 - given.count), prerelease) }

        /// The first version past the wildcard: `1.2.x` → 1.3.0; nil when everything is a wildcard.
        private var next: SemanticVersion? {
            guard !given.isEmpty else { return nil }
            var parts = given
            parts[parts.count - 1] += 1
            return version(parts + Array(repeating: 0, count: 3 - parts.count), [])
        }

        func matches(_ candidate: SemanticVersion) -> Bool {
            if !candidate.prerelease.isEmpty && prerelease.isEmpty { return false }
            let exact = given.count == 3
            switch op {
            case .equal: return exact ? candidate == floor : within(candidate, floor, next)
            case .notEqual: return !(exact ? candidate == floor : within(candidate, floor, next))
            case .greater: return exact ? candidate > floor : next.map { candidate >= $0 } ?? false
            case .greaterOrEqual: return candidate >= floor
            case .less: return candidate < floor
            case .lessOrEqual: return exact ? candidate <= floor : next.map { candidate < $0 } ?? true
            case .tilde:
                let upper = given.count >= 2 ? version([given[0], given[1] + 1, 0], []) : next
                return within(candidate, floor, upper)
            case .caret:
                let upper: SemanticVersion?
                if given.isEmpty {
                    upper = nil
                } else if given[0] > 0 || given.count == 1 {
                    upper = version([given[0] + 1, 0, 0], [])
                } else if given[1] > 0 || given.count == 2 {
                    upper = version([0, given[1] + 1, 0], [])
                } else {
                    upper = version([0, 0, given[2] + 1], [])
                }
                return within(candidate, floor, upper)
            }
        }

        private func within(_ candidate: SemanticVersion, _ lower: SemanticVersion, _ upper: SemanticVersion?) -> Bool {
            candidate >= lower && upper.map { candidate < $0 } ?? true
        }

        private func version(_ parts: [UInt64], _ pre: [String]) -> SemanticVersion {
            SemanticVersion("\(parts[0]).\(parts[1]).\(parts[2])" + (pre.isEmpty ? "" : "-" + pre.joined(separator: ".")))!
        }
    }

    /// Alternatives (`||`), each a list of clauses that must all hold.
    private let alternatives: [[Clause]]
    public let text: String

    public init?(_ text: String) {
        self.text = text
        var alternatives: [[Clause]] = []
        for alternative in text.components(separatedBy: "||") {
            guard let clauses = Self.parseAnd(alternative) else { return nil }
            alternatives.append(clauses)
        }
        self.alternatives = alternatives
    }

    public var description: String { text }

    public func matches(_ version: SemanticVersion) -> Bool {
        alternatives.contains { clauses in clauses.allSatisfy { $0.matches(version) } }
    }

    /// The highest of `versions` that matches.
    public func best(of versions: [SemanticVersion]) -> SemanticVersion? {
        versions.filter(matches).max()
    }

    private static func parseAnd(_ text: String) -> [Clause]? {
        var tokens = text.replacingOccurrences(of: ",", with: " ").split(separator: " ").map(String.init)
        guard !tokens.isEmpty else { return nil }
        // Operators written apart from their version ("> = 1.2" is not allowed, ">= 1.2" is).
        var joined: [String] = []
        while !tokens.isEmpty {
            let token = tokens.removeFirst()
            if token.allSatisfy({ "=!<>~^".contains($0) }), !tokens.isEmpty, tokens.first != "-" {
                joined.append(token + tokens.removeFirst())
            } else {
                joined.append(token)
            }
        }
        var clauses: [Clause] = []
        var index = 0
        while index < joined.count {
            if index + 2 < joined.count, joined[index + 1] == "-" {
                // Hyphen range: inclusive at both ends, the upper end's wildcards widen it.
                guard let lower = parseClause(">=" + joined[index]), let upper = parseClause("<=" + joined[index + 2]) else { return nil }
                clauses += [lower, upper]
                index += 3
                continue
            }
            guard let clause = parseClause(joined[index]) else { return nil }
            clauses.append(clause)
            index += 1
        }
        return clauses
    }

    private static func parseClause(_ token: String) -> Clause? {
        let operators: [(String, Clause.Operator)] = [
            ("!=", .notEqual), (">=", .greaterOrEqual), ("=>", .greaterOrEqual), ("<=", .lessOrEqual), ("=<", .lessOrEqual),
            ("~>", .tilde), (">", .greater), ("<", .less), ("~", .tilde), ("^", .caret), ("=", .equal),
        ]
        var op = Clause.Operator.equal
        var rest = Substring(token)
        if let (text, found) = operators.first(where: { token.hasPrefix($0.0) }) {
            op = found
            rest = rest.dropFirst(text.count)
        }
        if rest.hasPrefix("v") { rest = rest.dropFirst() }
        if let plus = rest.firstIndex(of: "+") { rest = rest[..<plus] }
        var prerelease: [String] = []
        if let dash = rest.firstIndex(of: "-") {
            prerelease = rest[rest.index(after: dash)...].split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard prerelease.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" } }) else { return nil }
            rest = rest[..<dash]
        }
        let parts = rest.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...3).contains(parts.count) else { return nil }
        var given: [UInt64] = []
        var wildcard = false
        for part in parts {
            if ["x", "X", "*"].contains(part) { wildcard = true; continue }
            guard !wildcard, let number = UInt64(part) else { return nil }
            given.append(number)
        }
        return Clause(op: op, given: given, prerelease: prerelease)
    }
}

/// SemVer 2 (`1.2.3`, `1.2.3-rc.1+build.5`).
public func isSemVer(_ text: String) -> Bool {
    text.range(of: #"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$"#, options: .regularExpression)
        != nil
}

extension SemanticVersion {
    /// Masterminds semver's lenient reading (`semver`, `semverCompare`): a leading `v`, and
    /// missing minor or patch numbers taken as 0 (`1.2` is 1.2.0).
    public init?(lenient text: String) {
        var core = Substring(text.trimmingCharacters(in: .whitespaces))
        if core.hasPrefix("v") { core = core.dropFirst() }
        var suffix = ""
        if let index = core.firstIndex(where: { $0 == "-" || $0 == "+" }) {
            suffix = String(core[index...])
            core = core[..<index]
        }
        var parts = core.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard (1...3).contains(parts.count), parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }) else { return nil }
        while parts.count < 3 { parts.append("0") }
        let normalised = parts.map { String(UInt64($0) ?? 0) }.joined(separator: ".") + suffix
        guard var version = SemanticVersion(normalised) else { return nil }
        version.original = text
        self = version
    }
}
