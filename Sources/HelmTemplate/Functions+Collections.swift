import Foundation

/// Sprig's list and dictionary functions.
enum SprigCollections {
    static var all: [String: TemplateFunction] {
        [
            "list": { args in .list(args) },
            "tuple": { args in .list(args) },
            "dict": { args in
                let box = MapBox()
                var index = 0
                while index < args.count {
                    let key = stringValue(args[index])
                    box.storage[key] = index + 1 < args.count ? args[index + 1] : .string("")
                    index += 2
                }
                return .map(box)
            },
            "get": { args in
                let a = try Arguments("get", args, count: 2)
                return try a.map(0).storage[try a.string(1)] ?? .string("")
            },
            "set": { args in
                let a = try Arguments("set", args, count: 3)
                let box = try a.map(0)
                box.storage[try a.string(1)] = a[2]
                return .map(box)
            },
            "unset": { args in
                let a = try Arguments("unset", args, count: 2)
                let box = try a.map(0)
                box.storage[try a.string(1)] = nil
                return .map(box)
            },
            "hasKey": { args in
                let a = try Arguments("hasKey", args, count: 2)
                return .bool(try a.map(0).storage[try a.string(1)] != nil)
            },
            "pluck": { args in
                let a = try Arguments("pluck", args, atLeast: 1)
                let key = try a.string(0)
                return .list(try (1..<a.count).compactMap { try a.map($0).storage[key] })
            },
            "keys": { args in
                var keys: [String] = []
                for (index, _) in args.enumerated() { keys += try Arguments("keys", args).map(index).sortedKeys }
                return .strings(keys)
            },
            "values": { args in
                let box = try Arguments("values", args, count: 1).map(0)
                return .list(box.sortedKeys.map { box.storage[$0]! })
            },
            "pick": { args in
                let a = try Arguments("pick", args, atLeast: 1)
                let box = try a.map(0)
                let result = MapBox()
                for key in try a.strings(from: 1) { if let value = box.storage[key] { result.storage[key] = value } }
                return .map(result)
            },
            "omit": { args in
                let a = try Arguments("omit", args, atLeast: 1)
                let box = try a.map(0)
                let drop = Set(try a.strings(from: 1))
                return .map(MapBox(box.storage.filter { !drop.contains($0.key) }))
            },
            "dig": { args in
                let a = try Arguments("dig", args, atLeast: 3)
                var current: TemplateValue = .map(try a.map(a.count - 1))
                let keys = try (0..<(a.count - 2)).map { try a.string($0) }
                for key in keys {
                    guard case .map(let box) = current, let next = box.storage[key] else { return a[a.count - 2] }
                    current = next
                }
                return current
            },
            "merge": { args in try merge(args, overwrite: false, name: "merge") },
            "mustMerge": { args in try merge(args, overwrite: false, name: "mustMerge") },
            "mergeOverwrite": { args in try merge(args, overwrite: true, name: "mergeOverwrite") },
            "mustMergeOverwrite": { args in try merge(args, overwrite: true, name: "mustMergeOverwrite") },
            "deepCopy": { args in try Arguments("deepCopy", args, count: 1)[0].deepCopy() },
            "mustDeepCopy": { args in try Arguments("mustDeepCopy", args, count: 1)[0].deepCopy() },
            "first": listFunction("first") { items in items.first ?? .null },
            "mustFirst": listFunction("mustFirst") { items in items.first ?? .null },
            "last": listFunction("last") { items in items.last ?? .null },
            "mustLast": listFunction("mustLast") { items in items.last ?? .null },
            "rest": listFunction("rest") { items in items.isEmpty ? .null : .list(Array(items.dropFirst())) },
            "mustRest": listFunction("mustRest") { items in items.isEmpty ? .null : .list(Array(items.dropFirst())) },
            "initial": listFunction("initial") { items in items.isEmpty ? .null : .list(Array(items.dropLast())) },
            "mustInitial": listFunction("mustInitial") { items in items.isEmpty ? .null : .list(Array(items.dropLast())) },
            "reverse": listFunction("reverse") { items in .list(items.reversed()) },
            "mustReverse": listFunction("mustReverse") { items in .list(items.reversed()) },
            "compact": listFunction("compact") { items in .list(items.filter { !$0.isEmpty }) },
            "mustCompact": listFunction("mustCompact") { items in .list(items.filter { !$0.isEmpty }) },
            "uniq": listFunction("uniq") { items in .list(unique(items)) },
            "mustUniq": listFunction("mustUniq") { items in .list(unique(items)) },
            "sortAlpha": { args in
                let a = try Arguments("sortAlpha", args, count: 1)
                if let items = a[0].listValue { return .strings(items.map(stringValue).sorted()) }
                return .strings([stringValue(a[0])])
            },
            "append": appendFunction("append"),
            "push": appendFunction("push"),
            "mustAppend": appendFunction("mustAppend"),
            "mustPush": appendFunction("mustPush"),
            "prepend": { args in
                let a = try Arguments("prepend", args, count: 2)
                return .list([a[1]] + (try listValue(a[0], function: "prepend")))
            },
            "mustPrepend": { args in
                let a = try Arguments("mustPrepend", args, count: 2)
                return .list([a[1]] + (try listValue(a[0], function: "prepend")))
            },
            "concat": { args in
                var items: [TemplateValue] = []
                for list in args { items += try listValue(list, function: "concat") }
                return .list(items)
            },
            "without": withoutFunction("without"),
            "mustWithout": withoutFunction("mustWithout"),
            "has": { args in
                let a = try Arguments("has", args, count: 2)
                guard let items = a[1].listValue else {
                    if a[1].isNull { return .bool(false) }
                    throw FunctionError("Cannot find has on type \(a[1].typeName)")
                }
                return .bool(items.contains { deepEqual($0, a[0]) })
            },
            "mustHas": { args in
                let a = try Arguments("mustHas", args, count: 2)
                return .bool((a[1].listValue ?? []).contains { deepEqual($0, a[0]) })
            },
            "slice": { args in
                let a = try Arguments("slice", args, atLeast: 1)
                if case .string(let text) = a[0] {
                    let bytes = Array(text.utf8)
                    let start = a.count > 1 ? Int(castInt(a[1])) : 0
                    let end = a.count > 2 ? Int(castInt(a[2])) : bytes.count
                    guard start >= 0, end <= bytes.count, start <= end else { throw FunctionError("index out of range") }
                    return .string(String(decoding: bytes[start..<end], as: UTF8.self))
                }
                let items = try listValue(a[0], function: "slice")
                let start = a.count > 1 ? Int(castInt(a[1])) : 0
                let end = a.count > 2 ? Int(castInt(a[2])) : items.count
                guard start >= 0, end <= items.count, start <= end else { throw FunctionError("slice index out of range") }
                return .list(Array(items[start..<end]))
            },
            "chunk": { args in
                let a = try Arguments("chunk", args, count: 2)
                let size = try a.int(0)
                let items = try listValue(a[1], function: "chunk")
                guard size > 0 else { return .list([]) }
                return .list(stride(from: 0, to: items.count, by: size).map { .list(Array(items[$0..<min($0 + size, items.count)])) })
            },
            "until": { args in
                let a = try Arguments("until", args, count: 1)
                let count = try a.int(0)
                return .list(
                    count > 0 ? (0..<count).map { .integer($0) } : count < 0 ? stride(from: 0, to: count, by: -1).map { .integer($0) } : [],
                    element: "int"
                )
            },
            "untilStep": { args in
                let a = try Arguments("untilStep", args, count: 3)
                let (start, stop, step) = (try a.int(0), try a.int(1), try a.int(2))
                guard step != 0, (step > 0 && start < stop) || (step < 0 && start > stop) else { return .list([], element: "int") }
                return .list(stride(from: start, to: stop, by: step).map { .integer($0) }, element: "int")
            },
            "seq": { args in
                let numbers = args.map { Int(castInt($0)) }
                var (start, step, end) = (1, 1, 0)
                switch numbers.count {
                case 1: end = numbers[0]
                case 2: (start, end) = (numbers[0], numbers[1]); step = start <= end ? 1 : -1
                case 3: (start, step, end) = (numbers[0], numbers[1], numbers[2])
                default: return .string("")
                }
                guard step != 0 else { return .string("") }
                let values = stride(from: start, through: end, by: step).map(String.init)
                return .string(values.joined(separator: " "))
            },
            "deepEqual": { args in
                let a = try Arguments("deepEqual", args, count: 2)
                return .bool(deepEqual(a[0], a[1]))
            },
        ]
    }

    private static func listFunction(_ name: String, _ body: @escaping ([TemplateValue]) -> TemplateValue) -> TemplateFunction {
        { args in
            let a = try Arguments(name, args, count: 1)
            return body(try listValue(a[0], function: name))
        }
    }

    private static func appendFunction(_ name: String) -> TemplateFunction {
        { args in
            let a = try Arguments(name, args, count: 2)
            return .list(try listValue(a[0], function: name) + [a[1]])
        }
    }

    private static func withoutFunction(_ name: String) -> TemplateFunction {
        { args in
            let a = try Arguments(name, args, atLeast: 1)
            let items = try listValue(a[0], function: name)
            let drop = Array(a.values.dropFirst())
            return .list(items.filter { item in !drop.contains { deepEqual($0, item) } })
        }
    }

    private static func unique(_ items: [TemplateValue]) -> [TemplateValue] {
        var result: [TemplateValue] = []
        for item in items where !result.contains(where: { deepEqual($0, item) }) { result.append(item) }
        return result
    }

    /// Go's `reflect.DeepEqual` over template values (an int and an int64 differ, as in Go).
    static func deepEqual(_ a: TemplateValue, _ b: TemplateValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.int(let x, let wx), .int(let y, let wy)): return x == y && wx == wy
        case (.float(let x), .float(let y)): return x == y
        case (.string(let x), .string(let y)): return x == y
        case (.list(let x, _), .list(let y, _)): return x.count == y.count && zip(x, y).allSatisfy { deepEqual($0, $1) }
        case (.map(let x), .map(let y)):
            return x === y
                || (x.storage.count == y.storage.count
                    && x.storage.allSatisfy { key, value in y.storage[key].map { deepEqual(value, $0) } ?? false })
        default: return false
        }
    }

    /// Sprig's `merge`/`mergeOverwrite` (mergo): maps merge key by key into the first, in place;
    /// other values fill only missing or empty keys, or replace them with `overwrite`.
    private static func merge(_ args: [TemplateValue], overwrite: Bool, name: String) throws -> TemplateValue {
        let a = try Arguments(name, args, atLeast: 1)
        let destination = try a.map(0)
        for index in 1..<max(a.count, 1) where index < a.count {
            if a[index].isNull { continue }
            mergeInto(destination, try a.map(index), overwrite: overwrite)
        }
        return .map(destination)
    }

    static func mergeInto(_ destination: MapBox, _ source: MapBox, overwrite: Bool) {
        for (key, value) in source.storage {
            let existing = destination.storage[key]
            if case .null = value {
                if overwrite { destination.storage[key] = .null }
                continue
            }
            if case .map(let sourceMap) = value, case .map(let destinationMap)? = existing {
                mergeInto(destinationMap, sourceMap, overwrite: overwrite)
                continue
            }
            if overwrite || existing == nil || existing!.isEmpty {
                destination.storage[key] = value
            }
        }
    }
}
