/// Executes parsed templates with Go's `text/template` semantics as Helm configures them
/// (`missingkey=zero`: a missing map key is nil, printed as nothing).
final class Evaluator {
    /// Forms the evaluator handles itself: they need its state or evaluate lazily.
    static let specialForms: Set<String> = ["and", "or", "include", "tpl", "template"]
    /// How deep `template`, `include` and `tpl` may nest in all (Go allows 100000; this keeps
    /// the stack within `LargeStack.size`).
    static let depthLimit = 10_000

    private let set: TemplateSet
    private var variables: [(name: String, value: TemplateValue)] = []
    private var output = ""
    private var depth = 0
    private var includeCounts: [String: Int] = [:]
    /// The file and text of the template being executed, for positions in errors.
    private var file = ""
    private var source = ""
    private var outermostFile: String?
    private var outermostOffset = 0

    init(set: TemplateSet) {
        self.set = set
    }

    func run(_ name: String, data: TemplateValue) throws -> String {
        guard let definition = set.definitions[name] else {
            throw TemplateError(
                template: name,
                line: 0,
                column: 0,
                message: "no template \"\(name)\" associated with template",
                raisedByChart: false
            )
        }
        variables = [("$", data)]
        file = definition.file
        source = definition.source
        output = ""
        output.reserveCapacity(4096)
        do {
            try walk(definition.body, dot: data)
        } catch let signal as LoopSignal {
            _ = signal
        }
        return output
    }

    private enum LoopSignal: Error { case breakLoop, continueLoop }

    private func walk(_ nodes: [TemplateNode], dot: TemplateValue) throws {
        for node in nodes {
            switch node {
            case .text(let text):
                output += text
            case .action(let pipeline):
                let value = try evaluate(pipeline, dot: dot)
                if pipeline.declarations.isEmpty {
                    output += try printed(value, offset: pipeline.offset)
                }
            case .conditional(let conditional):
                try walk(conditional, dot: dot)
            case .template(let name, let pipeline, let offset):
                let data = try pipeline.map { try evaluate($0, dot: dot) } ?? .null
                output += try call(template: name, data: data, offset: offset)
            case .breakLoop:
                throw LoopSignal.breakLoop
            case .continueLoop:
                throw LoopSignal.continueLoop
            }
        }
    }

    private func walk(_ conditional: TemplateNode.Conditional, dot: TemplateValue) throws {
        let mark = variables.count
        defer { variables.removeSubrange(mark...) }
        let value = try evaluate(conditional.pipeline, dot: dot)
        switch conditional.kind {
        case .if:
            if value.isTruthy {
                try walk(conditional.body, dot: dot)
            } else if let otherwise = conditional.otherwise {
                try walk(otherwise, dot: dot)
            }
        case .with:
            if value.isTruthy {
                try walk(conditional.body, dot: value)
            } else if let otherwise = conditional.otherwise {
                try walk(otherwise, dot: dot)
            }
        case .range:
            try range(over: value, conditional, dot: dot, offset: conditional.pipeline.offset)
        }
    }

    private func range(over value: TemplateValue, _ conditional: TemplateNode.Conditional, dot: TemplateValue, offset: Int) throws {
        var pairs: [(TemplateValue, TemplateValue)] = []
        switch value {
        case .list(let items, _):
            pairs = items.enumerated().map { (.integer($0.offset), $0.element) }
        case .map(let box):
            pairs = box.sortedKeys.map { (.string($0), box.storage[$0]!) }
        case .int(let count, _):
            pairs = count > 0 ? (0..<count).map { (.integer(Int($0)), .integer(Int($0))) } : []
        case .object(let object) where object.underlying != nil:
            return try range(over: object.underlying!, conditional, dot: dot, offset: offset)
        case .null:
            pairs = []
        default:
            throw located("range can't iterate over \(goString(value))", offset: offset)
        }
        if pairs.isEmpty {
            if let otherwise = conditional.otherwise { try walk(otherwise, dot: dot) }
            return
        }
        let declarations = conditional.pipeline.declarations
        let mark = variables.count
        for (key, element) in pairs {
            if declarations.count == 1 {
                setVariable(declarations[0], element)
            } else if declarations.count == 2 {
                setVariable(declarations[0], key)
                setVariable(declarations[1], element)
            }
            let inner = variables.count
            do {
                try walk(conditional.body, dot: element)
            } catch LoopSignal.breakLoop {
                variables.removeSubrange(inner...)
                break
            } catch LoopSignal.continueLoop {
            }
            variables.removeSubrange(inner...)
        }
        variables.removeSubrange(mark...)
    }

    /// Declares (or, inside a range, re-binds) a variable in the innermost scope.
    private func setVariable(_ name: String, _ value: TemplateValue) {
        if let index = variables.lastIndex(where: { $0.name == name }) {
            variables[index].value = value
        } else {
            variables.append((name, value))
        }
    }

    private func evaluate(_ pipeline: Pipeline, dot: TemplateValue) throws -> TemplateValue {
        var value: TemplateValue? = nil
        for command in pipeline.commands {
            value = try evaluate(command, dot: dot, final: value)
        }
        let result = value ?? .null
        if pipeline.isAssignment {
            guard let index = variables.lastIndex(where: { $0.name == pipeline.declarations[0] }) else {
                throw located("undefined variable: \(pipeline.declarations[0])", offset: pipeline.offset)
            }
            variables[index].value = result
        } else if !pipeline.declarations.isEmpty {
            variables.append((pipeline.declarations[0], result))
        }
        return result
    }

    private func evaluate(_ command: Command, dot: TemplateValue, final: TemplateValue?) throws -> TemplateValue {
        let first = command.arguments[0]
        let rest = Array(command.arguments.dropFirst())
        switch first {
        case .identifier(let name):
            return try callFunction(name, arguments: rest, dot: dot, final: final, offset: command.offset)
        case .field(let names):
            return try fieldChain(dot, names, arguments: rest, dot: dot, final: final, offset: command.offset)
        case .variable(let name, let names):
            let value = try variable(name, offset: command.offset)
            if names.isEmpty {
                try noArguments(rest, final, offset: command.offset)
                return value
            }
            return try fieldChain(value, names, arguments: rest, dot: dot, final: final, offset: command.offset)
        case .chain(let term, let names):
            let value = try argument(term, dot: dot)
            return try fieldChain(value, names, arguments: rest, dot: dot, final: final, offset: command.offset)
        default:
            try noArguments(rest, final, offset: command.offset)
            return try argument(first, dot: dot)
        }
    }

    private func noArguments(_ rest: [Argument], _ final: TemplateValue?, offset: Int) throws {
        if !rest.isEmpty || final != nil { throw located("can't give argument to non-function", offset: offset) }
    }

    private func variable(_ name: String, offset: Int) throws -> TemplateValue {
        guard let found = variables.last(where: { $0.name == name }) else { throw located("undefined variable: \(name)", offset: offset) }
        return found.value
    }

    private func argument(_ argument: Argument, dot: TemplateValue) throws -> TemplateValue {
        switch argument {
        case .dot: return dot
        case .nilValue: return .null
        case .bool(let flag): return .bool(flag)
        case .string(let text): return .string(text)
        case .number(let number):
            if number.isFloatConstant { return .float(number.float ?? 0) }
            return .integer(Int(number.integer ?? 0))
        case .field(let names): return try fieldChain(dot, names, arguments: [], dot: dot, final: nil, offset: 0)
        case .variable(let name, let names):
            let value = try variable(name, offset: 0)
            return names.isEmpty ? value : try fieldChain(value, names, arguments: [], dot: dot, final: nil, offset: 0)
        case .chain(let term, let names):
            return try fieldChain(try self.argument(term, dot: dot), names, arguments: [], dot: dot, final: nil, offset: 0)
        case .pipeline(let pipeline):
            let mark = variables.count
            defer { variables.removeSubrange(mark...) }
            return try evaluate(pipeline, dot: dot)
        case .identifier(let name):
            return try callFunction(name, arguments: [], dot: dot, final: nil, offset: 0)
        }
    }

    private func fieldChain(
        _ receiver: TemplateValue,
        _ names: [String],
        arguments: [Argument],
        dot: TemplateValue,
        final: TemplateValue?,
        offset: Int
    ) throws -> TemplateValue {
        // Go treats an untyped nil receiver (from a variable, dot or a parenthesised pipeline)
        // as a missing key: `(.Values.a).b` is nil, not an error. Only a nil met inside the
        // chain (`.Values.a.b` with no `a`) is "nil pointer evaluating".
        if case .null = receiver { return .null }
        var value = receiver
        for (position, name) in names.enumerated() {
            let isLast = position == names.count - 1
            switch value {
            case .map(let box):
                if isLast, !arguments.isEmpty || final != nil { throw located("\(name) is not a method but has arguments", offset: offset) }
                value = box.storage[name] ?? .null
            case .object(let object):
                if let field = object.fields[name] {
                    if isLast, !arguments.isEmpty || final != nil {
                        throw located("\(name) has arguments but cannot be invoked as function", offset: offset)
                    }
                    value = field
                } else if let method = object.methods[name] {
                    var values = isLast ? try arguments.map { try argument($0, dot: dot) } : []
                    if isLast, let final { values.append(final) }
                    do {
                        value = try method(values)
                    } catch let error as FunctionError {
                        throw located("error calling \(name): \(error.message)", offset: offset, raisedByChart: error.raisedByChart)
                    }
                } else if case .map(let box)? = object.underlying {
                    value = box.storage[name] ?? .null
                } else {
                    throw located("can't evaluate field \(name) in type \(object.typeName)", offset: offset)
                }
            case .null:
                throw located("nil pointer evaluating interface {}.\(name)", offset: offset)
            default:
                throw located("can't evaluate field \(name) in type \(value.typeName)", offset: offset)
            }
        }
        return value
    }

    private func callFunction(
        _ name: String,
        arguments: [Argument],
        dot: TemplateValue,
        final: TemplateValue?,
        offset: Int
    ) throws -> TemplateValue {
        switch name {
        case "and", "or":
            guard !arguments.isEmpty || final != nil else {
                throw located("wrong number of args for \(name): want at least 1 got 0", offset: offset)
            }
            var last: TemplateValue = .null
            for node in arguments {
                last = try argument(node, dot: dot)
                if name == "and" ? !last.isTruthy : last.isTruthy { return last }
            }
            return final ?? last
        case "include":
            let values = try arguments.map { try argument($0, dot: dot) } + (final.map { [$0] } ?? [])
            guard values.count == 2, case .string(let template) = values[0] else {
                throw located("wrong number of args for include: want 2 got \(values.count)", offset: offset)
            }
            return .string(try include(template, data: values[1], offset: offset))
        case "tpl":
            let values = try arguments.map { try argument($0, dot: dot) } + (final.map { [$0] } ?? [])
            guard values.count == 2 else { throw located("wrong number of args for tpl: want 2 got \(values.count)", offset: offset) }
            guard case .string(let text) = values[0] else {
                throw located("error calling tpl: wrong type for value; expected string; got \(values[0].typeName)", offset: offset)
            }
            return .string(try tpl(text, data: values[1], offset: offset))
        default:
            guard let function = set.functions[name] else { throw located("function \"\(name)\" not defined", offset: offset) }
            var values = try arguments.map { try argument($0, dot: dot) }
            if let final { values.append(final) }
            do {
                return try function(values)
            } catch let error as FunctionError {
                throw located(
                    error.raisedByChart ? error.message : "error calling \(name): \(error.message)",
                    offset: offset,
                    raisedByChart: error.raisedByChart
                )
            }
        }
    }

    private func call(template name: String, data: TemplateValue, offset: Int) throws -> String {
        guard let definition = set.definitions[name] else {
            throw located("template: no template \"\(name)\" associated with template", offset: offset)
        }
        return try nested(definition, data: data, offset: offset)
    }

    private func include(_ name: String, data: TemplateValue, offset: Int) throws -> String {
        guard let definition = set.definitions[name] else {
            throw located("error calling include: template: no template \"\(name)\" associated with template \"gotpl\"", offset: offset)
        }
        includeCounts[name, default: 0] += 1
        defer { includeCounts[name, default: 1] -= 1 }
        if includeCounts[name]! > TemplateSet.nestingLimit {
            throw located(
                "error calling include: rendering template has a nested reference name: \(name): unable to execute template",
                offset: offset
            )
        }
        return try nested(definition, data: data, offset: offset)
    }

    /// Runs a definition with a fresh variable scope and its own output, as Go's ExecuteTemplate.
    private func nested(_ definition: TemplateSet.Definition, data: TemplateValue, offset: Int) throws -> String {
        depth += 1
        guard depth <= Self.depthLimit else { throw located("exceeded maximum template depth (\(Self.depthLimit))", offset: offset) }
        let saved = (variables, output, file, source)
        if outermostFile == nil {
            outermostFile = file
            outermostOffset = offset
        }
        let wasOutermost = outermostFile == file && outermostOffset == offset && depth == 1
        defer {
            (variables, output, file, source) = saved
            depth -= 1
            if wasOutermost { outermostFile = nil }
        }
        variables = [("$", data)]
        output = ""
        file = definition.file
        source = definition.source
        do {
            try walk(definition.body, dot: data)
        } catch is LoopSignal {}
        return output
    }

    /// Helm's `tpl`: the text parsed as a template that sees the chart's definitions.
    private func tpl(_ text: String, data: TemplateValue, offset: Int) throws -> String {
        let name = file
        let parsed: ParsedTemplate
        do {
            parsed = try Parser.parse(name: name, source: text, functions: set.functionNames)
        } catch let error as TemplateSyntaxError {
            let (line, _) = TemplateSet.position(of: error.offset, in: text)
            throw located("error calling tpl: cannot parse template (line \(line) of the text): \(error.message)", offset: offset)
        }
        var added: [(String, TemplateSet.Definition?)] = []
        for definition in parsed.definitions {
            added.append((definition.name, set.definitions[definition.name]))
            set.definitions[definition.name] = .init(body: definition.body, file: name, source: text)
        }
        defer { for (key, old) in added { set.definitions[key] = old } }
        let result = try nested(.init(body: parsed.root, file: name, source: text), data: data, offset: offset)
        return result.replacingAll("<no value>", with: "")
    }

    private func printed(_ value: TemplateValue, offset: Int) throws -> String {
        if case .null = value { return "<no value>" }
        return GoFormat.print(value)
    }

    private func goString(_ value: TemplateValue) -> String { GoFormat.print(value) }

    private func located(_ message: String, offset: Int, raisedByChart: Bool = false) -> TemplateError {
        let useOuter = raisedByChart && outermostFile != nil
        let where_ = useOuter ? outermostFile! : file
        let text = useOuter ? (set.definitions[where_]?.source ?? source) : source
        let (line, column) = TemplateSet.position(of: useOuter ? outermostOffset : offset, in: text)
        return TemplateError(template: where_, line: line, column: column, message: message, raisedByChart: raisedByChart)
    }
}
