import Foundation

/// Typed access to a function's arguments, refusing what Go's reflection would refuse (a nil or
/// a number where a string parameter is declared) with Go's words.
struct Arguments {
    let name: String
    let values: [TemplateValue]

    init(_ name: String, _ values: [TemplateValue], count: Int? = nil, atLeast: Int? = nil) throws {
        self.name = name
        self.values = values
        if let count, values.count != count {
            throw FunctionError("wrong number of args for \(name): want \(count) got \(values.count)")
        }
        if let atLeast, values.count < atLeast {
            throw FunctionError("wrong number of args for \(name): want at least \(atLeast) got \(values.count)")
        }
    }

    subscript(index: Int) -> TemplateValue { values[index] }

    var count: Int { values.count }

    func string(_ index: Int) throws -> String {
        switch values[index] {
        case .string(let text): return text
        case .null: throw FunctionError("wrong type for value; expected string; got interface {}")
        default: throw FunctionError("wrong type for value; expected string; got \(values[index].typeName)")
        }
    }

    func int(_ index: Int) throws -> Int {
        switch values[index] {
        case .int(let number, _): return Int(number)
        case .null: throw FunctionError("wrong type for value; expected int; got interface {}")
        default: throw FunctionError("wrong type for value; expected int; got \(values[index].typeName)")
        }
    }

    func bool(_ index: Int) throws -> Bool {
        guard case .bool(let flag) = values[index] else {
            throw FunctionError(
                "wrong type for value; expected bool; got \(values[index].isNull ? "interface {}" : values[index].typeName)"
            )
        }
        return flag
    }

    func map(_ index: Int) throws -> MapBox {
        switch values[index] {
        case .map(let box): return box
        case .object(let object):
            if case .map(let box)? = object.underlying { return box }
            throw FunctionError("wrong type for value; expected map[string]interface {}; got \(object.typeName)")
        case .null: throw FunctionError("wrong type for value; expected map[string]interface {}; got interface {}")
        default: throw FunctionError("wrong type for value; expected map[string]interface {}; got \(values[index].typeName)")
        }
    }

    func strings(from start: Int) throws -> [String] {
        try (start..<values.count).map { try string($0) }
    }
}

/// Sprig's `strval`: strings as they are, everything else as `fmt` prints it.
func stringValue(_ value: TemplateValue) -> String {
    if case .string(let text) = value { return text }
    return GoFormat.print(value)
}

/// spf13/cast's `ToInt64`: numbers truncated, numeric strings parsed (base prefixes allowed),
/// booleans 1/0, anything else 0.
func castInt(_ value: TemplateValue) -> Int64 {
    switch value {
    case .int(let number, _): return number
    case .float(let number): return number.isFinite ? Int64(number) : 0
    case .bool(let flag): return flag ? 1 : 0
    case .string(let text):
        var trimmed = text
        // cast trims a zero decimal part ("8.0" → "8") before parsing.
        if let dot = trimmed.firstIndex(of: "."), trimmed[trimmed.index(after: dot)...].allSatisfy({ $0 == "0" }) {
            trimmed = String(trimmed[..<dot])
        }
        return YAMLResolver.goParseInt(trimmed) ?? 0
    default: return 0
    }
}

/// spf13/cast's `ToFloat64`.
func castFloat(_ value: TemplateValue) -> Double {
    switch value {
    case .int(let number, _): return Double(number)
    case .float(let number): return number
    case .bool(let flag): return flag ? 1 : 0
    case .string(let text): return Double(text) ?? 0
    default: return 0
    }
}

/// Sprig's list coercion: a slice as it is; anything else is refused.
func listValue(_ value: TemplateValue, function: String) throws -> [TemplateValue] {
    if let items = value.listValue { return items }
    if case .null = value { throw FunctionError("Cannot find \(function) on type <nil>") }
    throw FunctionError("Cannot find \(function) on type \(value.typeName)")
}

/// Sprig's `strslice`: a list's items as strings (nils dropped), or the one value as a string.
func stringSlice(_ value: TemplateValue) -> [String] {
    switch value {
    case .list(let items, _): return items.compactMap { $0.isNull ? nil : stringValue($0) }
    case .null: return []
    default: return [stringValue(value)]
    }
}

extension TemplateValue {
    static func strings(_ items: [String]) -> TemplateValue { .list(items.map { .string($0) }, element: "string") }
}

extension String {
    /// Every occurrence of `target` replaced, scanning UTF-8 bytes (Foundation's
    /// `replacingOccurrences` goes through UTF-16 and is many times slower on large texts).
    func replacingAll(_ target: String, with replacement: String) -> String {
        let source = Array(utf8)
        let needle = Array(target.utf8)
        guard !needle.isEmpty, source.count >= needle.count else { return self }
        let insert = Array(replacement.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(source.count)
        var index = 0
        var changed = false
        let first = needle[0]
        while index < source.count {
            if source[index] == first, index + needle.count <= source.count,
                source[index..<(index + needle.count)].elementsEqual(needle)
            {
                out.append(contentsOf: insert)
                index += needle.count
                changed = true
            } else {
                out.append(source[index])
                index += 1
            }
        }
        return changed ? String(decoding: out, as: UTF8.self) : self
    }
}
