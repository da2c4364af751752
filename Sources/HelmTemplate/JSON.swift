import Foundation

/// A value as `encoding/json` marshals it, with numbers as go-yaml v2 reads their JSON text back
/// (`toYaml` goes through JSON): integral numbers become ints, the rest floats in Go's format.
enum JSONNormal {
    case null
    case bool(Bool)
    /// Number text as YAML will print it.
    case number(String)
    case string(String)
    case array([JSONNormal])
    case object([(String, JSONNormal)])

    static func normalise(_ value: TemplateValue) -> JSONNormal {
        switch value {
        case .null: return .null
        case .bool(let flag): return .bool(flag)
        case .int(let number, _): return .number(String(number))
        case .float(let number):
            let json = GoJSON.formatFloat(number)
            if let integer = Int64(json) { return .number(String(integer)) }
            // go-yaml reads it as a float64 and prints it with strconv's 'g', shortest.
            return .number(GoFormat.formatG(Double(json) ?? number, exponentThreshold: 6))
        case .string(let text): return .string(text)
        case .list(let items, _): return .array(items.map(normalise))
        case .map(let box): return .object(box.sortedKeys.map { ($0, normalise(box.storage[$0]!)) })
        case .object(let object):
            if let underlying = object.underlying { return normalise(underlying) }
            return .object(object.jsonFields.map { ($0.0, normalise($0.1)) })
        }
    }
}

/// Go's `encoding/json` as Helm's `toJson` and `fromJson` use it.
public enum GoJSON {
    /// `json.Marshal`: keys sorted, HTML characters escaped as `\u003c`, floats as Go writes them.
    public static func marshal(_ value: TemplateValue) -> String {
        var out = ""
        write(value, into: &out)
        return out
    }

    private static func write(_ value: TemplateValue, into out: inout String) {
        switch value {
        case .null: out += "null"
        case .bool(let flag): out += flag ? "true" : "false"
        case .int(let number, _): out += String(number)
        case .float(let number): out += formatFloat(number)
        case .string(let text): out += quote(text)
        case .list(let items, _):
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += "," }
                write(item, into: &out)
            }
            out += "]"
        case .map(let box):
            out += "{"
            for (index, key) in box.sortedKeys.enumerated() {
                if index > 0 { out += "," }
                out += quote(key) + ":"
                write(box.storage[key]!, into: &out)
            }
            out += "}"
        case .object(let object):
            if let underlying = object.underlying {
                write(underlying, into: &out)
                return
            }
            out += "{"
            for (index, field) in object.jsonFields.enumerated() {
                if index > 0 { out += "," }
                out += quote(field.0) + ":"
                write(field.1, into: &out)
            }
            out += "}"
        }
    }

    /// `encoding/json`'s float format: plain digits between 1e-6 and 1e21, else `1e+21`, `1e-7`.
    static func formatFloat(_ number: Double) -> String {
        let magnitude = abs(number)
        if magnitude != 0 && (magnitude < 1e-6 || magnitude >= 1e21) {
            var text = GoFormat.formatG(number, exponentThreshold: 0)
            // Go writes e-07 as e-7 here.
            if let range = text.range(of: "e-0") { text.replaceSubrange(range, with: "e-") }
            if let range = text.range(of: "e+0") { text.replaceSubrange(range, with: "e+") }
            return text
        }
        return GoFormat.formatPlain(number)
    }

    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "<": out += "\\u003c"
            case ">": out += "\\u003e"
            case "&": out += "\\u0026"
            case "\u{2028}": out += "\\u2028"
            case "\u{2029}": out += "\\u2029"
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// `json.Unmarshal` into `interface{}`: numbers become float64.
    public static func unmarshal(_ text: String) throws -> TemplateValue {
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
        return convert(object)
    }

    static func convert(_ object: Any) -> TemplateValue {
        switch object {
        case let number as NSNumber:
            if String(cString: number.objCType) == "c" { return .bool(number.boolValue) }
            return .float(number.doubleValue)
        case let text as String: return .string(text)
        case let list as [Any]: return .list(list.map(convert))
        case let map as [String: Any]: return .map(MapBox(map.mapValues(convert)))
        default: return .null
        }
    }
}
