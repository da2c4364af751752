import Foundation

/// The functions Go's `text/template` predefines (`and`, `or`, `include` and `tpl` live in the
/// evaluator, which must evaluate lazily or knows the template set).
enum GoBuiltins {
    static var all: [String: TemplateFunction] {
        [
            "not": { args in
                let a = try Arguments("not", args, count: 1)
                return .bool(!a[0].isTruthy)
            },
            "len": { args in
                let a = try Arguments("len", args, count: 1)
                switch a[0] {
                case .string(let text): return .integer(text.utf8.count)
                case .list(let items, _): return .integer(items.count)
                case .map(let box): return .integer(box.storage.count)
                case .object(let object) where object.underlying != nil:
                    return .integer(object.underlying!.listValue?.count ?? object.underlying!.mapValue?.storage.count ?? 0)
                case .null: throw FunctionError("len of nil pointer")
                default: throw FunctionError("len of type \(a[0].typeName)")
                }
            },
            "index": { args in
                let a = try Arguments("index", args, atLeast: 1)
                var value = a[0]
                for key in a.values.dropFirst() {
                    value = try index(value, key)
                }
                return value
            },
            "print": { args in .string(GoFormat.sprint(args)) },
            "println": { args in .string(GoFormat.sprintln(args)) },
            "printf": { args in
                let a = try Arguments("printf", args, atLeast: 1)
                return .string(GoFormat.sprintf(try a.string(0), Array(args.dropFirst())))
            },
            "html": { args in .string(htmlEscape(GoFormat.sprint(args))) },
            "js": { args in .string(jsEscape(GoFormat.sprint(args))) },
            "urlquery": { args in
                .string(GoFormat.sprint(args).addingPercentEncoding(withAllowedCharacters: .urlQueryValueAllowed) ?? "")
            },
            "eq": { args in
                let a = try Arguments("eq", args, atLeast: 1)
                guard a.count >= 2 else { throw FunctionError("missing argument for comparison") }
                for other in a.values.dropFirst() where try equal(a[0], other) { return .bool(true) }
                return .bool(false)
            },
            "ne": { args in
                let a = try Arguments("ne", args, count: 2)
                return .bool(!(try equal(a[0], a[1])))
            },
            "lt": { args in .bool(try compare("lt", args) < 0) },
            "le": { args in .bool(try compare("le", args) <= 0) },
            "gt": { args in .bool(try compare("gt", args) > 0) },
            "ge": { args in .bool(try compare("ge", args) >= 0) },
            "call": { _ in throw FunctionError("call of a function value is not supported: values hold no functions") },
        ]
    }

    static func index(_ value: TemplateValue, _ key: TemplateValue) throws -> TemplateValue {
        switch value {
        case .map(let box):
            guard case .string(let name) = key else { throw FunctionError("value has type \(key.typeName); should be string") }
            return box.storage[name] ?? .null
        case .list(let items, _):
            guard case .int(let position, _) = key else { throw FunctionError("cannot index slice/array with type \(key.typeName)") }
            guard position >= 0, position < items.count else { throw FunctionError("index out of range: \(position)") }
            return items[Int(position)]
        case .string(let text):
            guard case .int(let position, _) = key else { throw FunctionError("cannot index string with type \(key.typeName)") }
            let bytes = Array(text.utf8)
            guard position >= 0, position < bytes.count else { throw FunctionError("index out of range: \(position)") }
            return .int(Int64(bytes[Int(position)]), .int)
        case .object(let object) where object.underlying != nil:
            return try index(object.underlying!, key)
        case .null:
            throw FunctionError("index of untyped nil")
        default:
            throw FunctionError("can't index item of type \(value.typeName)")
        }
    }

    private enum BasicKind { case bool, int, float, string, other }

    private static func basicKind(_ value: TemplateValue) -> BasicKind {
        switch value {
        case .bool: return .bool
        case .int: return .int
        case .float: return .float
        case .string: return .string
        default: return .other
        }
    }

    /// Go's `eq` for two operands: basic kinds compare by value (ints of any width together), a
    /// mix of kinds is an error unless one side is nil.
    static func equal(_ left: TemplateValue, _ right: TemplateValue) throws -> Bool {
        let (k1, k2) = (basicKind(left), basicKind(right))
        if k1 != k2 {
            if left.isNull || right.isNull { return left.isNull && right.isNull }
            throw FunctionError("incompatible types for comparison")
        }
        switch (left, right) {
        case (.bool(let a), .bool(let b)): return a == b
        case (.int(let a, _), .int(let b, _)): return a == b
        case (.float(let a), .float(let b)): return a == b
        case (.string(let a), .string(let b)): return a == b
        case (.null, .null): return true
        case (.list, _), (_, .list), (.map, _), (_, .map):
            if left.isNull || right.isNull { return false }
            throw FunctionError(
                "non-comparable types \(GoFormat.print(left)): \(left.typeName), \(right.typeName): \(GoFormat.print(right))"
            )
        default:
            return false
        }
    }

    private static func compare(_ name: String, _ args: [TemplateValue]) throws -> Int {
        let a = try Arguments(name, args, count: 2)
        switch (a[0], a[1]) {
        case (.int(let x, _), .int(let y, _)): return x < y ? -1 : x == y ? 0 : 1
        case (.float(let x), .float(let y)): return x < y ? -1 : x == y ? 0 : 1
        case (.string(let x), .string(let y)): return x < y ? -1 : x == y ? 0 : 1
        case (.null, _), (_, .null): throw FunctionError("invalid type for comparison")
        default:
            if basicKind(a[0]) != basicKind(a[1]) { throw FunctionError("incompatible types for comparison") }
            throw FunctionError("invalid type for comparison")
        }
    }

    static func htmlEscape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "'": out += "&#39;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&#34;"
            case "\0": out += "\u{FFFD}"
            default: out.append(character)
            }
        }
        return out
    }

    static func jsEscape(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "'": out += "\\'"
            case "\"": out += "\\\""
            case "<": out += "\\u003C"
            case ">": out += "\\u003E"
            case "&": out += "\\u0026"
            case "=": out += "\\u003D"
            default:
                if scalar.value < 0x20 { out += String(format: "\\u%04X", scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out
    }
}

extension CharacterSet {
    static let urlQueryValueAllowed: CharacterSet = {
        var set = CharacterSet.alphanumerics
        set.insert(charactersIn: "-_.~")
        return set
    }()
}
