/// A path inside a bundle, validated: relative, no `.` or `..` components, no empty components,
/// no backslashes or control characters, at most 1024 bytes. Such a path can be joined to an
/// output folder without escaping it.
public struct EntryPath: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let value: String

    public enum Problem: Error, Sendable, CustomStringConvertible {
        case empty, absolute, dotComponent, emptyComponent, badCharacter, tooLong

        public var description: String {
            switch self {
            case .empty: "empty path"
            case .absolute: "absolute path"
            case .dotComponent: "path with a . or .. component"
            case .emptyComponent: "path with an empty component"
            case .badCharacter: "path with a backslash or control character"
            case .tooLong: "path longer than 1024 bytes"
            }
        }
    }

    public init(_ value: String) throws {
        guard !value.isEmpty else { throw Problem.empty }
        guard value.utf8.count <= 1024 else { throw Problem.tooLong }
        guard !value.hasPrefix("/") else { throw Problem.absolute }
        guard !value.unicodeScalars.contains(where: { $0 == "\\" || $0.value < 0x20 || $0.value == 0x7f }) else {
            throw Problem.badCharacter
        }
        for component in value.split(separator: "/", omittingEmptySubsequences: false) {
            if component.isEmpty { throw Problem.emptyComponent }
            if component == "." || component == ".." { throw Problem.dotComponent }
        }
        self.value = value
    }

    public var description: String { value }
    public static func < (lhs: EntryPath, rhs: EntryPath) -> Bool { Array(lhs.value.utf8).lexicographicallyPrecedes(rhs.value.utf8) }
}
