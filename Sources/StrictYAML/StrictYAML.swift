import Foundation
import Yams

/// An input error with the file and line it comes from: `airlock.yaml:12: images[1]: unknown key "reff"`.
public struct InputError: Error, Sendable, Equatable, CustomStringConvertible {
    public let file: String
    public let line: Int?
    public let message: String

    public init(file: String, line: Int?, _ message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String {
        if let line { return "\(file):\(line): \(message)" }
        return "\(file): \(message)"
    }
}

/// Parses the YAML documents of `text`, turning syntax errors into ``InputError``s with a line.
public func parseDocuments(_ text: String, file: String) throws -> [YAMLNode] {
    do {
        var sequence = try Yams.compose_all(yaml: text)
        var nodes: [YAMLNode] = []
        while let node = sequence.next() { nodes.append(YAMLNode(node: node, file: file, path: "")) }
        if let error = sequence.error { throw error }
        return nodes
    } catch let error as YamlError {
        throw describe(error, file: file)
    }
}

private func describe(_ error: YamlError, file: String) -> InputError {
    switch error {
    case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _):
        return InputError(file: file, line: mark.line, "YAML syntax: \(problem)")
    default:
        return InputError(file: file, line: nil, "YAML: \(error)")
    }
}

/// A YAML node that knows where it is (file, line, and its path such as `images[2].ref`), for
/// reading documents strictly: unknown keys, wrong types and missing fields are errors naming the line.
public struct YAMLNode {
    let node: Node
    public let file: String
    /// The field path of this node, for messages.
    public let path: String

    public var line: Int? { node.mark?.line }

    /// An error located at this node.
    public func error(_ message: String) -> InputError {
        InputError(file: file, line: line, path.isEmpty ? message : "\(path): \(message)")
    }

    /// The scalar text, or an error if this is a mapping or list.
    public func scalar() throws -> String {
        guard case .scalar(let scalar) = node else { throw error("expected a single value") }
        return scalar.string
    }

    /// The scalar as a boolean.
    public func bool() throws -> Bool {
        switch try scalar().lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error("expected true or false")
        }
    }

    /// The scalar as an integer.
    public func int() throws -> Int {
        guard let value = Int(try scalar()) else { throw error("expected a whole number") }
        return value
    }

    /// The items of a list.
    public func list() throws -> [YAMLNode] {
        guard case .sequence(let sequence) = node else { throw error("expected a list") }
        return sequence.enumerated().map { YAMLNode(node: $1, file: file, path: "\(path)[\($0)]") }
    }

    /// The entries of a mapping, refusing keys not in `allowed` and duplicate keys.
    public func mapping(allowed: Set<String>) throws -> YAMLMapping {
        guard case .mapping(let mapping) = node else { throw error("expected a mapping of keys to values") }
        var values: [String: YAMLNode] = [:]
        for (key, value) in mapping {
            let keyNode = YAMLNode(node: key, file: file, path: path)
            let name = try keyNode.scalar()
            let child = YAMLNode(node: value, file: file, path: path.isEmpty ? name : "\(path).\(name)")
            guard allowed.contains(name) else {
                let known = allowed.sorted().joined(separator: ", ")
                throw keyNode.error("unknown key \"\(name)\" (known: \(known))")
            }
            guard values[name] == nil else { throw keyNode.error("key \"\(name)\" appears twice") }
            values[name] = child
        }
        return YAMLMapping(owner: self, values: values)
    }

    /// The node written back as YAML text (for a value read again by another YAML reader).
    public func yamlText() throws -> String {
        try Yams.serialize(node: node)
    }

    /// The keys of a mapping in document order, each with its value node (no key refused).
    public func entries() throws -> [(key: String, value: YAMLNode)] {
        guard case .mapping(let mapping) = node else { throw error("expected a mapping of keys to values") }
        return try mapping.map { key, value in
            let name = try YAMLNode(node: key, file: file, path: path).scalar()
            return (name, YAMLNode(node: value, file: file, path: path.isEmpty ? name : "\(path).\(name)"))
        }
    }

    /// Whether this node is a mapping (to tell shapes apart before reading).
    public var isMapping: Bool {
        if case .mapping = node { return true }
        return false
    }
}

/// The keys of one mapping, read strictly.
public struct YAMLMapping {
    public let owner: YAMLNode
    let values: [String: YAMLNode]

    public subscript(key: String) -> YAMLNode? { values[key] }

    public var keys: Set<String> { Set(values.keys) }

    /// A required scalar.
    public func string(_ key: String) throws -> String {
        guard let node = values[key] else { throw owner.error("missing required key \"\(key)\"") }
        let value = try node.scalar()
        guard !value.isEmpty else { throw node.error("must not be empty") }
        return value
    }

    /// An optional scalar.
    public func optionalString(_ key: String) throws -> String? {
        guard let node = values[key] else { return nil }
        let value = try node.scalar()
        guard !value.isEmpty else { throw node.error("must not be empty") }
        return value
    }

    /// An optional list (absent = empty).
    public func list(_ key: String) throws -> [YAMLNode] {
        try values[key]?.list() ?? []
    }
}

extension YAMLNode {
    /// The node as plain values for JSON: mappings become dictionaries, lists arrays, and every
    /// scalar a string, except the keys named in `booleanKeys`, which become booleans.
    public func plainValue(booleanKeys: Set<String> = []) throws -> Any {
        switch node {
        case .scalar(let scalar):
            if let key = path.split(separator: ".").last.map(String.init), booleanKeys.contains(key) {
                return try bool()
            }
            return scalar.string
        case .sequence:
            return try list().map { try $0.plainValue(booleanKeys: booleanKeys) }
        case .mapping(let mapping):
            var out: [String: Any] = [:]
            for (key, value) in mapping {
                let name = try YAMLNode(node: key, file: file, path: path).scalar()
                out[name] = try YAMLNode(node: value, file: file, path: path.isEmpty ? name : "\(path).\(name)")
                    .plainValue(booleanKeys: booleanKeys)
            }
            return out
        case .alias:
            throw error("YAML aliases are not supported here")
        }
    }
}
