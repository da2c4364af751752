import Foundation
import Yams

/// Reads YAML as Helm does (`sigs.k8s.io/yaml.Unmarshal`: go-yaml v2, YAML 1.1 scalars, then
/// through JSON): plain `yes`/`on` are booleans, every number becomes a float64, keys become
/// strings, timestamps become RFC 3339 strings.
public enum GoYAMLDecoder {
    public struct DecodeError: Error, CustomStringConvertible {
        public var description: String
    }

    /// The first document of `text` (an empty document is nil).
    public static func decode(_ text: String) throws -> TemplateValue {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw DecodeError(description: "\(error)".split(separator: "\n").first.map(String.init) ?? "invalid YAML")
        }
        guard let node else { return .null }
        return try convert(node)
    }

    static func convert(_ node: Node) throws -> TemplateValue {
        switch node {
        case .scalar(let scalar):
            if scalar.style != .plain { return .string(scalar.string) }
            if scalar.tag.description == "tag:yaml.org,2002:str", YAMLResolver.resolve(scalar.string) != .string {
                // An explicit !!str on a plain scalar keeps the text.
                return .string(scalar.string)
            }
            return value(of: YAMLResolver.resolve(scalar.string), text: scalar.string)
        case .mapping(let mapping):
            let box = MapBox()
            var merged: [(String, TemplateValue)] = []
            for (key, value) in mapping {
                if case .scalar(let keyScalar) = key, keyScalar.style == .plain, keyScalar.string == "<<" {
                    for source in (value.sequence.map { Array($0) } ?? [value]) {
                        if case .map(let inner) = try convert(source) {
                            merged.append(contentsOf: inner.storage.map { ($0.key, $0.value) })
                        }
                    }
                    continue
                }
                box.storage[try keyString(key)] = try convert(value)
            }
            for (key, value) in merged where box.storage[key] == nil { box.storage[key] = value }
            return .map(box)
        case .sequence(let sequence):
            return .list(try sequence.map(convert))
        case .alias:
            throw DecodeError(description: "unresolved alias")
        }
    }

    private static func keyString(_ node: Node) throws -> String {
        guard case .scalar(let scalar) = node else { throw DecodeError(description: "a mapping key is not a string") }
        if scalar.style != .plain { return scalar.string }
        switch YAMLResolver.resolve(scalar.string) {
        case .bool(let flag): return flag ? "true" : "false"
        case .int(let number): return String(number)
        case .float(let number): return GoFormat.formatG(number, exponentThreshold: 21)
        case .null: return "null"
        default: return scalar.string
        }
    }

    private static func value(of resolved: YAMLResolver.Resolved, text: String) -> TemplateValue {
        switch resolved {
        case .null: return .null
        case .bool(let flag): return .bool(flag)
        case .int(let number): return .float(Double(number))
        case .float(let number): return .float(number)
        case .timestamp(let normalised): return .string(normalised)
        case .string: return .string(text)
        }
    }
}

/// go-yaml v2's resolution of plain scalars (`resolve.go`).
enum YAMLResolver {
    enum Resolved: Equatable {
        case null, bool(Bool), int(Int64), float(Double), timestamp(String), string
    }

    private static let table: [String: Resolved] = {
        var table: [String: Resolved] = [:]
        for word in ["y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"] { table[word] = .bool(true) }
        for word in ["n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"] { table[word] = .bool(false) }
        for word in ["", "~", "null", "Null", "NULL"] { table[word] = .null }
        for word in [".nan", ".NaN", ".NAN"] { table[word] = .float(.nan) }
        for word in [".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"] { table[word] = .float(.infinity) }
        for word in ["-.inf", "-.Inf", "-.INF"] { table[word] = .float(-.infinity) }
        table["<<"] = .string
        return table
    }()

    static func resolvesToString(_ text: String) -> Bool {
        if text == "<<" { return false }
        return resolve(text) == .string
    }

    static func resolve(_ text: String) -> Resolved {
        guard let first = text.utf8.first else { return .null }
        let hint: Character
        switch first {
        case UInt8(ascii: "+"), UInt8(ascii: "-"): hint = "S"
        case UInt8(ascii: "0")...UInt8(ascii: "9"): hint = "D"
        case UInt8(ascii: "."): hint = "."
        default:
            if "yYnNtTfFoO~".utf8.contains(first) { hint = "M" } else { return .string }
        }
        if let found = table[text] { return found }
        switch hint {
        case ".":
            if let number = goParseFloat(text) { return .float(number) }
        case "D", "S":
            if let timestamp = timestamp(text) { return .timestamp(timestamp) }
            let plain = text.replacingOccurrences(of: "_", with: "")
            if let number = goParseInt(plain) { return .int(number) }
            if isYAMLFloat(plain), let number = goParseFloat(plain) { return .float(number) }
            if plain.hasPrefix("0b"), let number = Int64(plain.dropFirst(2), radix: 2) { return .int(number) }
            if plain.hasPrefix("-0b"), let number = Int64(plain.dropFirst(3), radix: 2) { return .int(-number) }
        default:
            break
        }
        return .string
    }

    /// `strconv.ParseInt(s, 0, 64)`: sign, then `0x`, `0o`, `0b`, a leading `0` for octal, or decimal.
    static func goParseInt(_ text: String) -> Int64? {
        var body = Substring(text)
        var negative = false
        if body.hasPrefix("+") { body = body.dropFirst() } else if body.hasPrefix("-") { negative = true; body = body.dropFirst() }
        guard !body.isEmpty, body.first!.isASCII, body.first!.isNumber else { return nil }
        var magnitude: UInt64?
        let lower = body.lowercased()
        if lower.hasPrefix("0x") {
            magnitude = UInt64(lower.dropFirst(2), radix: 16)
        } else if lower.hasPrefix("0o") {
            magnitude = UInt64(lower.dropFirst(2), radix: 8)
        } else if lower.hasPrefix("0b") {
            magnitude = UInt64(lower.dropFirst(2), radix: 2)
        } else if lower.count > 1, lower.hasPrefix("0") {
            magnitude = UInt64(lower.dropFirst(), radix: 8)
        } else {
            magnitude = UInt64(lower, radix: 10)
        }
        guard let magnitude else { return nil }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return Int64(magnitude)
    }

    static func goParseFloat(_ text: String) -> Double? {
        let lower = text.lowercased()
        guard !lower.contains("x"), !lower.contains("inf"), !lower.contains("nan") else { return nil }
        return Double(text.replacingOccurrences(of: "_", with: ""))
    }

    /// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
    static func isYAMLFloat(_ text: String) -> Bool {
        var chars = Substring(text)
        if chars.first == "+" || chars.first == "-" { chars = chars.dropFirst() }
        func digits(_ s: inout Substring) -> Int {
            var count = 0
            while let c = s.first, c.isASCII, c.isNumber { s = s.dropFirst(); count += 1 }
            return count
        }
        if chars.first == "." {
            chars = chars.dropFirst()
            guard digits(&chars) > 0 else { return false }
        } else {
            guard digits(&chars) > 0 else { return false }
            if chars.first == "." {
                chars = chars.dropFirst()
                _ = digits(&chars)
            }
        }
        if chars.first == "e" || chars.first == "E" {
            chars = chars.dropFirst()
            if chars.first == "+" || chars.first == "-" { chars = chars.dropFirst() }
            guard digits(&chars) > 0 else { return false }
        }
        return chars.isEmpty
    }

    /// `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`
    static func isBase60Float(_ text: String) -> Bool {
        guard let first = text.first, first == "+" || first == "-" || (first.isASCII && first.isNumber), text.contains(":") else {
            return false
        }
        return text.range(of: #"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$"#, options: .regularExpression) != nil
    }

    /// YAML timestamps go-yaml v2 accepts, as the RFC 3339 text JSON gives them.
    static func timestamp(_ text: String) -> String? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 8, bytes[0...3].allSatisfy({ $0 >= 48 && $0 <= 57 }), bytes[4] == UInt8(ascii: "-") else { return nil }
        if text.range(of: #"^\d{4}-\d{1,2}-\d{1,2}$"#, options: .regularExpression) != nil {
            let parts = text.split(separator: "-").compactMap { Int($0) }
            guard parts.count == 3, (1...12).contains(parts[1]), (1...31).contains(parts[2]) else { return nil }
            return String(format: "%04d-%02d-%02dT00:00:00Z", parts[0], parts[1], parts[2])
        }
        if text.range(of: #"^\d{4}-\d{1,2}-\d{1,2}[Tt]\d{1,2}:\d{1,2}:\d{1,2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"#, options: .regularExpression)
            != nil
        {
            return text.replacingOccurrences(of: "t", with: "T")
        }
        return nil
    }
}

extension GoYAMLDecoder {
    /// Every document of a YAML stream (empty documents left out), as `helm template` output is
    /// read.
    public static func decodeAll(_ text: String) throws -> [TemplateValue] {
        do {
            return try Yams.compose_all(yaml: text).map(convert).filter { !$0.isNull }
        } catch let error as DecodeError {
            throw error
        } catch {
            throw DecodeError(description: "\(error)".split(separator: "\n").first.map(String.init) ?? "invalid YAML")
        }
    }
}
