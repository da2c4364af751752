/// A function callable from templates. It receives evaluated arguments (a piped value last).
public typealias TemplateFunction = ([TemplateValue]) throws -> TemplateValue

/// An error a template raised or met while rendering, placed as Helm places it.
public struct TemplateError: Error, CustomStringConvertible, Sendable {
    /// The template file (`chart/templates/x.yaml`), line and column of the action that failed.
    public var template: String
    public var line: Int
    public var column: Int
    public var message: String
    /// A chart's own `fail` or `required`: Helm words these "execution error at (...)".
    public var raisedByChart: Bool
    public var isParseError = false

    public var description: String {
        if isParseError { return "parse error at (\(template):\(line)): \(message)" }
        if raisedByChart { return "execution error at (\(template):\(line):\(column)): \(message)" }
        return "template: \(template):\(line):\(column): \(message)"
    }
}

/// An error a function raises; the evaluator adds where it happened.
public struct FunctionError: Error, Sendable {
    public var message: String
    public var raisedByChart: Bool

    public init(_ message: String, raisedByChart: Bool = false) {
        self.message = message
        self.raisedByChart = raisedByChart
    }
}

/// Named templates parsed from a chart's files, and the functions they may call: one Go
/// `template.Template` set as Helm builds it.
public final class TemplateSet {
    struct Definition {
        var body: [TemplateNode]
        /// The file it was defined in, and that file's text (for lines in errors).
        var file: String
        var source: String
    }

    var definitions: [String: Definition] = [:]
    var functions: [String: TemplateFunction]
    let functionNames: Set<String>
    /// How deep `include` and `template` may nest (Helm refuses past 1000 of one name).
    static let nestingLimit = 1000

    public init(functions: [String: TemplateFunction]) {
        self.functions = functions
        self.functionNames = Set(functions.keys).union(Evaluator.specialForms)
    }

    /// Parses one file; its `define`s join the set (a later non-empty definition replaces an
    /// earlier one, as Go's `AddParseTree` does).
    public func parse(name: String, source: String) throws {
        let parsed: ParsedTemplate
        do {
            parsed = try Parser.parse(name: name, source: source, functions: functionNames)
        } catch let error as TemplateSyntaxError {
            let (line, column) = Self.position(of: error.offset, in: source)
            throw TemplateError(
                template: name,
                line: line,
                column: column,
                message: error.message,
                raisedByChart: false,
                isParseError: true
            )
        }
        add(name: name, body: parsed.root, file: name, source: source)
        for definition in parsed.definitions {
            add(name: definition.name, body: definition.body, file: name, source: source)
        }
    }

    private func add(name: String, body: [TemplateNode], file: String, source: String) {
        if definitions[name] != nil, Self.isEmpty(body) { return }
        definitions[name] = Definition(body: body, file: file, source: source)
    }

    private static func isEmpty(_ nodes: [TemplateNode]) -> Bool {
        nodes.allSatisfy { node in
            if case .text(let text) = node { return text.allSatisfy(\.isWhitespace) }
            return false
        }
    }

    public func has(_ name: String) -> Bool { definitions[name] != nil }

    /// Runs the named template with `data` as dot and `$`.
    public func execute(_ name: String, data: TemplateValue) throws -> String {
        let evaluator = Evaluator(set: self)
        return try evaluator.run(name, data: data)
    }

    static func position(of offset: Int, in source: String) -> (Int, Int) {
        var line = 1
        var lineStart = 0
        var index = 0
        for byte in source.utf8 {
            if index >= offset { break }
            if byte == 0x0A {
                line += 1
                lineStart = index + 1
            }
            index += 1
        }
        return (line, offset - lineStart)
    }
}
