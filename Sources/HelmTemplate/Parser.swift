/// The parse tree of a template, as Go's `text/template/parse` builds it.
indirect enum TemplateNode {
    case text(String)
    case action(Pipeline)
    case conditional(Conditional)
    case template(name: String, pipeline: Pipeline?, offset: Int)
    case breakLoop(offset: Int)
    case continueLoop(offset: Int)

    struct Conditional {
        enum Kind { case `if`, range, with }
        var kind: Kind
        var pipeline: Pipeline
        var body: [TemplateNode]
        var otherwise: [TemplateNode]?
    }
}

struct Pipeline {
    var declarations: [String]
    var isAssignment: Bool
    var commands: [Command]
    var offset: Int
}

struct Command {
    var arguments: [Argument]
    var offset: Int
}

indirect enum Argument {
    case field([String])
    case variable(String, [String])
    case dot
    case nilValue
    case bool(Bool)
    case number(NumberLiteral)
    case string(String)
    case identifier(String)
    case pipeline(Pipeline)
    case chain(Argument, [String])
}

/// A number constant as Go's parser reads it: an integer when the text is one (or a float with an
/// integral value written without `.`/`e`), else a float; character constants are integers.
struct NumberLiteral {
    var text: String
    var integer: Int64?
    var float: Double?
    var isChar = false

    init(char: Int64) {
        text = String(char)
        integer = char
        float = Double(char)
        isChar = true
    }

    init?(_ text: String) {
        self.text = text
        let cleaned = text.contains("_") ? text.replacingOccurrences(of: "_", with: "") : text
        var sign: Int64 = 1
        var body = Substring(cleaned)
        if body.hasPrefix("+") { body = body.dropFirst() } else if body.hasPrefix("-") { sign = -1; body = body.dropFirst() }
        let lower = body.lowercased()
        if lower.hasPrefix("0x"), let value = Int64(lower.dropFirst(2), radix: 16) {
            integer = sign * value
        } else if lower.hasPrefix("0o"), let value = Int64(lower.dropFirst(2), radix: 8) {
            integer = sign * value
        } else if lower.hasPrefix("0b"), let value = Int64(lower.dropFirst(2), radix: 2) {
            integer = sign * value
        } else if lower.count > 1, lower.hasPrefix("0"), lower.allSatisfy(\.isNumber), let value = Int64(lower.dropFirst(), radix: 8) {
            integer = sign * value
        } else if let value = Int64(lower) {
            integer = sign * value
        }
        if let integer {
            float = Double(integer)
            return
        }
        guard let value = Double(lower) else { return nil }
        float = Double(sign) * value
    }

    /// Whether Go would treat the constant as a float where a value of any type is wanted.
    var isFloatConstant: Bool {
        if isChar { return false }
        if integer == nil { return true }
        let lower = text.lowercased()
        if lower.hasPrefix("0x") || lower.hasPrefix("-0x") || lower.hasPrefix("+0x") { return lower.contains("p") }
        return lower.contains(".") || lower.contains("e")
    }
}

/// One parsed template file: its top-level nodes and the `define`d templates it holds.
struct ParsedTemplate {
    var name: String
    var source: String
    var root: [TemplateNode]
    var definitions: [(name: String, body: [TemplateNode])]
}

struct Parser {
    var tokens: [Token]
    var index = 0
    let functions: Set<String>
    var definitions: [(name: String, body: [TemplateNode])] = []
    var variables: [[String]] = [["$"]]
    var rangeDepth = 0

    /// Parses `source`, refusing a call to a function not in `functions` as Go does.
    static func parse(name: String, source: String, functions: Set<String>) throws -> ParsedTemplate {
        var parser = Parser(tokens: try Lexer.tokenize(source), functions: functions)
        let (root, end) = try parser.parseList()
        if let end { throw TemplateSyntaxError(message: "unexpected {{\(end.0)}}", offset: end.1) }
        return ParsedTemplate(name: name, source: source, root: root, definitions: parser.definitions)
    }

    private init(tokens: [Token], functions: Set<String>) {
        self.tokens = tokens
        self.functions = functions
    }

    var current: Token { tokens[index] }

    mutating func next() -> Token {
        let token = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        return token
    }

    mutating func nextNonSpace() -> Token {
        var token = next()
        while token.kind == .space { token = next() }
        return token
    }

    mutating func peekNonSpace() -> Token {
        let saved = index
        let token = nextNonSpace()
        index = saved
        return token
    }

    /// Nodes up to `{{end}}` or `{{else}}` (returned as the terminator) or the end of input.
    mutating func parseList() throws -> ([TemplateNode], (String, Int)?) {
        var nodes: [TemplateNode] = []
        while true {
            let token = next()
            switch token.kind {
            case .eof:
                return (nodes, nil)
            case .text(let text):
                nodes.append(.text(text))
            case .leftDelim:
                let word = peekNonSpace()
                if case .keyword(let keyword) = word.kind {
                    switch keyword {
                    case .end:
                        _ = nextNonSpace()
                        try expectRightDelim("end")
                        return (nodes, ("end", word.offset))
                    case .else:
                        _ = nextNonSpace()
                        return (nodes, ("else", word.offset))
                    default:
                        if let node = try parseControl(keyword, offset: word.offset) { nodes.append(node) }
                    }
                } else {
                    nodes.append(.action(try parsePipeline(context: "command", allowDeclarations: true)))
                }
            default:
                throw TemplateSyntaxError(message: "unexpected \(token.kind)", offset: token.offset)
            }
        }
    }

    mutating func expectRightDelim(_ context: String) throws {
        let token = nextNonSpace()
        guard token.kind == .rightDelim else {
            throw TemplateSyntaxError(message: "unexpected \(describe(token)) in \(context)", offset: token.offset)
        }
    }

    mutating func parseControl(_ keyword: Token.Keyword, offset: Int) throws -> TemplateNode? {
        _ = nextNonSpace()
        switch keyword {
        case .if: return .conditional(try parseConditional(.if, offset: offset))
        case .range: return .conditional(try parseConditional(.range, offset: offset))
        case .with: return .conditional(try parseConditional(.with, offset: offset))
        case .template: return try parseTemplateCall(offset: offset)
        case .define:
            try parseDefine(offset: offset)
            return nil
        case .block:
            let token = nextNonSpace()
            guard case .string(let name) = token.kind else {
                throw TemplateSyntaxError(message: "block name must be a string", offset: token.offset)
            }
            let pipeline = try parsePipeline(context: "block", allowDeclarations: false)
            let saved = variables
            variables = [["$"]]
            let (body, end) = try parseList()
            variables = saved
            guard end?.0 == "end" else { throw TemplateSyntaxError(message: "unexpected EOF in block", offset: offset) }
            definitions.append((name, body))
            return .template(name: name, pipeline: pipeline, offset: offset)
        case .break, .continue:
            guard rangeDepth > 0 else { throw TemplateSyntaxError(message: "{{\(keyword.rawValue)}} outside {{range}}", offset: offset) }
            try expectRightDelim(keyword.rawValue)
            return keyword == .break ? .breakLoop(offset: offset) : .continueLoop(offset: offset)
        case .end, .else:
            return nil
        }
    }

    mutating func parseDefine(offset: Int) throws {
        let token = nextNonSpace()
        guard case .string(let name) = token.kind else {
            throw TemplateSyntaxError(message: "define name must be a string", offset: token.offset)
        }
        try expectRightDelim("define clause")
        let saved = variables
        variables = [["$"]]
        let (body, end) = try parseList()
        variables = saved
        guard end?.0 == "end" else { throw TemplateSyntaxError(message: "unexpected EOF in define", offset: offset) }
        definitions.append((name, body))
    }

    mutating func parseTemplateCall(offset: Int) throws -> TemplateNode {
        let token = nextNonSpace()
        guard case .string(let name) = token.kind else {
            throw TemplateSyntaxError(message: "template name must be a string", offset: token.offset)
        }
        if peekNonSpace().kind == .rightDelim {
            _ = nextNonSpace()
            return .template(name: name, pipeline: nil, offset: offset)
        }
        return .template(name: name, pipeline: try parsePipeline(context: "template clause", allowDeclarations: false), offset: offset)
    }

    mutating func parseConditional(_ kind: TemplateNode.Conditional.Kind, offset: Int) throws -> TemplateNode.Conditional {
        variables.append([])
        defer { variables.removeLast() }
        let pipeline = try parsePipeline(context: "\(kind)", allowDeclarations: true, isRange: kind == .range)
        if kind == .range { rangeDepth += 1 }
        let (body, end) = try parseList()
        if kind == .range { rangeDepth -= 1 }
        guard let end else { throw TemplateSyntaxError(message: "unexpected EOF", offset: offset) }
        var otherwise: [TemplateNode]?
        if end.0 == "else" {
            // `{{else if ...}}` and `{{else with ...}}` nest a conditional that shares the `end`.
            let word = peekNonSpace()
            if case .keyword(let keyword) = word.kind, keyword == .if || keyword == .with, kind != .range || true {
                if (keyword == .if && kind == .if) || (keyword == .with && kind == .with) {
                    _ = nextNonSpace()
                    let nested = try parseConditional(kind, offset: word.offset)
                    return TemplateNode.Conditional(kind: kind, pipeline: pipeline, body: body, otherwise: [.conditional(nested)])
                }
            }
            try expectRightDelim("else")
            let (elseBody, elseEnd) = try parseList()
            guard elseEnd?.0 == "end" else {
                throw TemplateSyntaxError(message: "expected end; found \(elseEnd?.0 ?? "EOF")", offset: offset)
            }
            otherwise = elseBody
        }
        return TemplateNode.Conditional(kind: kind, pipeline: pipeline, body: body, otherwise: otherwise)
    }

    func describe(_ token: Token) -> String {
        switch token.kind {
        case .rightDelim: return "\"}}\""
        case .rightParen: return "\")\""
        case .eof: return "EOF"
        case .keyword(let keyword): return "<\(keyword.rawValue)>"
        case .identifier(let name): return "\"\(name)\""
        default: return "\(token.kind)"
        }
    }
}
