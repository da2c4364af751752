/// Pipelines as Go's text/template parses them: declarations and assignments, commands joined by
/// pipes, and their operands (fields, variables, literals, parenthesised pipelines).
extension Parser {
    /// A pipeline up to `}}` (or `)` inside parentheses), with its declarations.
    mutating func parsePipeline(
        context: String,
        allowDeclarations: Bool,
        isRange: Bool = false,
        inParens: Bool = false
    ) throws -> Pipeline {
        var declarations: [String] = []
        var isAssignment = false
        let offset = peekNonSpace().offset
        if allowDeclarations {
            let saved = index
            var names: [String] = []
            var token = nextNonSpace()
            declLoop: while case .variable(let name) = token.kind {
                names.append(name)
                let after = nextNonSpace()
                switch after.kind {
                case .declare, .assign:
                    isAssignment = after.kind == .assign
                    declarations = names
                    break declLoop
                case .comma where isRange && names.count == 1:
                    token = nextNonSpace()
                default:
                    names = []
                    break declLoop
                }
            }
            if declarations.isEmpty {
                index = saved
            } else if !isAssignment {
                variables[variables.count - 1].append(contentsOf: declarations)
            }
        }
        var commands: [Command] = []
        while true {
            let token = peekNonSpace()
            switch token.kind {
            case .rightDelim where !inParens, .rightParen where inParens:
                _ = nextNonSpace()
                guard !commands.isEmpty else { throw TemplateSyntaxError(message: "missing value for \(context)", offset: token.offset) }
                return Pipeline(declarations: declarations, isAssignment: isAssignment, commands: commands, offset: offset)
            case .pipe:
                guard !commands.isEmpty else { throw TemplateSyntaxError(message: "missing value for command", offset: token.offset) }
                _ = nextNonSpace()
            case .eof, .rightDelim, .rightParen:
                throw TemplateSyntaxError(message: "unexpected \(describe(token)) in \(context)", offset: token.offset)
            default:
                commands.append(try parseCommand(inParens: inParens))
            }
        }
    }

    mutating func parseCommand(inParens: Bool) throws -> Command {
        let offset = peekNonSpace().offset
        var arguments: [Argument] = []
        while true {
            let token = current
            switch token.kind {
            case .space:
                _ = next()
                continue
            case .rightDelim, .rightParen, .pipe:
                guard !arguments.isEmpty else { throw TemplateSyntaxError(message: "empty command", offset: token.offset) }
                return Command(arguments: arguments, offset: offset)
            default:
                arguments.append(try parseOperand())
                let after = current.kind
                if after != .space && after != .rightDelim && after != .rightParen && after != .pipe {
                    throw TemplateSyntaxError(message: "missing space?", offset: current.offset)
                }
            }
        }
    }

    mutating func parseOperand() throws -> Argument {
        let term = try parseTerm()
        var fields: [String] = []
        while case .field(let name) = current.kind {
            fields.append(name)
            _ = next()
        }
        guard !fields.isEmpty else { return term }
        switch term {
        case .field(let base): return .field(base + fields)
        case .variable(let name, let base): return .variable(name, base + fields)
        case .dot, .nilValue, .bool, .number, .string:
            throw TemplateSyntaxError(message: "unexpected . after term", offset: current.offset)
        default: return .chain(term, fields)
        }
    }

    mutating func parseTerm() throws -> Argument {
        let token = next()
        switch token.kind {
        case .identifier(let name):
            guard functions.contains(name) else {
                throw TemplateSyntaxError(message: "function \"\(name)\" not defined", offset: token.offset)
            }
            return .identifier(name)
        case .dot: return .dot
        case .nilValue: return .nilValue
        case .bool(let flag): return .bool(flag)
        case .string(let text): return .string(text)
        case .char(let value): return .number(NumberLiteral(char: value))
        case .number(let text):
            guard let number = NumberLiteral(text) else {
                throw TemplateSyntaxError(message: "bad number syntax: \"\(text)\"", offset: token.offset)
            }
            return .number(number)
        case .field(let name): return .field([name])
        case .variable(let name):
            guard variables.contains(where: { $0.contains(name) }) else {
                throw TemplateSyntaxError(message: "undefined variable \"\(name)\"", offset: token.offset)
            }
            return .variable(name, [])
        case .leftParen:
            return .pipeline(try parsePipeline(context: "parenthesized pipeline", allowDeclarations: false, inParens: true))
        default:
            throw TemplateSyntaxError(message: "unexpected \(describe(token)) in operand", offset: token.offset)
        }
    }
}
