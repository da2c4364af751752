import Foundation

/// Go's `fmt` as templates meet it: `%v` printing of values (what `{{ x }}` writes), `Sprint`,
/// `Sprintln` and `Sprintf` with the verbs charts use, and Go's float formatting.
public enum GoFormat {
    /// What `fmt.Sprint(value)` gives: `map[a:1 b:2]`, `[x y]`, floats in `%g` shortest form.
    public static func print(_ value: TemplateValue, nested: Bool = false) -> String {
        switch value {
        case .null: return "<nil>"
        case .bool(let flag): return flag ? "true" : "false"
        case .int(let number, _): return String(number)
        case .float(let number): return formatG(number)
        case .string(let text): return text
        case .list(let items, _): return "[" + items.map { print($0, nested: true) }.joined(separator: " ") + "]"
        case .map(let box):
            return "map[" + box.sortedKeys.map { "\($0):\(print(box.storage[$0]!, nested: true))" }.joined(separator: " ") + "]"
        case .object(let object):
            if let printed = object.printed { return printed }
            if let underlying = object.underlying { return print(underlying, nested: nested) }
            return "{" + object.jsonFields.map { print($0.1, nested: true) }.joined(separator: " ") + "}"
        }
    }

    /// `fmt.Sprint`: operands printed with `%v`, a space between two that are not strings.
    public static func sprint(_ values: [TemplateValue]) -> String {
        var result = ""
        for (index, value) in values.enumerated() {
            if index > 0, !isString(value), !isString(values[index - 1]) { result += " " }
            result += print(value)
        }
        return result
    }

    /// `fmt.Sprintln`: spaces between every operand, a newline at the end.
    public static func sprintln(_ values: [TemplateValue]) -> String {
        values.map { print($0) }.joined(separator: " ") + "\n"
    }

    private static func isString(_ value: TemplateValue) -> Bool {
        if case .string = value { return true }
        return false
    }

    /// Go's `%v` for a float64: the shortest representation, in exponent form when the exponent
    /// is below -4 or at least 6 (`1e+06` is `%v` of a million).
    public static func formatG(_ number: Double, exponentThreshold: Int = 6) -> String {
        if number.isNaN { return "NaN" }
        if number.isInfinite { return number > 0 ? "+Inf" : "-Inf" }
        if number == 0 { return number.sign == .minus ? "-0" : "0" }
        let (digits, exponent) = shortestDigits(number)
        let negative = number < 0
        let decimalExponent = exponent - 1
        var text: String
        if decimalExponent < -4 || decimalExponent >= exponentThreshold {
            var mantissa = String(digits.first!)
            if digits.count > 1 { mantissa += "." + digits.dropFirst() }
            let sign = decimalExponent < 0 ? "-" : "+"
            let magnitude = abs(decimalExponent)
            text = mantissa + "e" + sign + (magnitude < 10 ? "0" : "") + String(magnitude)
        } else if exponent <= 0 {
            text = "0." + String(repeating: "0", count: -exponent) + digits
        } else if exponent >= digits.count {
            text = digits + String(repeating: "0", count: exponent - digits.count)
        } else {
            let index = digits.index(digits.startIndex, offsetBy: exponent)
            text = digits[..<index] + "." + digits[index...]
        }
        return negative ? "-" + text : text
    }

    /// The shortest decimal digits that read back as `number`, and where the point goes
    /// (value = 0.DIGITS × 10^exponent).
    static func shortestDigits(_ number: Double) -> (String, Int) {
        // Swift's description is the shortest round-tripping form too; take its digits.
        let text = "\(abs(number))"
        var mantissa = text
        var exponentPart = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = String(text[..<e])
            exponentPart = Int(text[text.index(after: e)...]) ?? 0
        }
        var integerPart = mantissa
        var fraction = ""
        if let dot = mantissa.firstIndex(of: ".") {
            integerPart = String(mantissa[..<dot])
            fraction = String(mantissa[mantissa.index(after: dot)...])
        }
        if fraction == "0" { fraction = "" }
        var digits = integerPart + fraction
        var exponent = integerPart.count + exponentPart
        while digits.hasPrefix("0"), digits.count > 1 {
            digits.removeFirst()
            exponent -= 1
        }
        while digits.hasSuffix("0"), digits.count > 1 { digits.removeLast() }
        return (digits, exponent)
    }

    /// Go's `strconv.FormatFloat(f, 'f', -1, 64)`.
    public static func formatPlain(_ number: Double) -> String {
        formatG(number, exponentThreshold: Int.max)
    }

    /// `fmt.Sprintf` for the verbs templates use: `%s %v %d %q %t %f %e %g %x %X %o %b %c %%`,
    /// with flags (`-+# 0`), width and precision; wrong verbs print as Go prints them.
    public static func sprintf(_ format: String, _ arguments: [TemplateValue]) -> String {
        var result = ""
        var argumentIndex = 0
        let characters = Array(format)
        var index = 0
        while index < characters.count {
            let character = characters[index]
            guard character == "%" else {
                result.append(character)
                index += 1
                continue
            }
            index += 1
            guard index < characters.count else {
                result += "%!(NOVERB)"
                break
            }
            var spec = Spec()
            while index < characters.count, "-+# 0".contains(characters[index]) {
                switch characters[index] {
                case "-": spec.minus = true
                case "+": spec.plus = true
                case "#": spec.sharp = true
                case " ": spec.space = true
                default: spec.zero = true
                }
                index += 1
            }
            if index < characters.count, characters[index] == "*" {
                if argumentIndex < arguments.count, case .int(let width, _) = arguments[argumentIndex] { spec.width = Int(width) }
                argumentIndex += 1
                index += 1
            } else {
                var digits = ""
                while index < characters.count, characters[index].isNumber { digits.append(characters[index]); index += 1 }
                spec.width = Int(digits)
            }
            if index < characters.count, characters[index] == "." {
                index += 1
                var digits = ""
                while index < characters.count, characters[index].isNumber { digits.append(characters[index]); index += 1 }
                spec.precision = Int(digits) ?? 0
            }
            guard index < characters.count else {
                result += "%!(NOVERB)"
                break
            }
            let verb = characters[index]
            index += 1
            if verb == "%" {
                result += "%"
                continue
            }
            guard argumentIndex < arguments.count else {
                result += "%!\(verb)(MISSING)"
                continue
            }
            let argument = arguments[argumentIndex]
            argumentIndex += 1
            result += pad(
                formatValue(argument, verb: verb, spec: spec),
                spec: spec,
                numeric: isNumeric(argument) && verb != "s" && verb != "v" && verb != "q"
            )
        }
        if argumentIndex < arguments.count {
            let extra = arguments[argumentIndex...].map { "\(goTypeName($0))=\(print($0))" }.joined(separator: ", ")
            result += "%!(EXTRA \(extra))"
        }
        return result
    }

    struct Spec {
        var minus = false, plus = false, sharp = false, space = false, zero = false
        var width: Int?
        var precision: Int?
    }

    private static func isNumeric(_ value: TemplateValue) -> Bool {
        switch value {
        case .int, .float: return true
        default: return false
        }
    }

    private static func goTypeName(_ value: TemplateValue) -> String {
        if case .null = value { return "<nil>" }
        return value.typeName
    }

    private static func bad(_ verb: Character, _ value: TemplateValue) -> String {
        if case .null = value { return "%!\(verb)(<nil>)" }
        return "%!\(verb)(\(goTypeName(value))=\(print(value)))"
    }

    private static func pad(_ text: String, spec: Spec, numeric: Bool) -> String {
        guard let width = spec.width, text.count < width else { return text }
        let fill = width - text.count
        if spec.minus { return text + String(repeating: " ", count: fill) }
        if spec.zero && numeric {
            if text.hasPrefix("-") || text.hasPrefix("+") {
                return String(text.first!) + String(repeating: "0", count: fill) + text.dropFirst()
            }
            return String(repeating: "0", count: fill) + text
        }
        return String(repeating: " ", count: fill) + text
    }

    private static func formatValue(_ value: TemplateValue, verb: Character, spec: Spec) -> String {
        switch verb {
        case "v":
            if case .float(let number) = value, let precision = spec.precision {
                return formatFloat(number, "g", precision: precision, spec: spec)
            }
            var text = print(value)
            if spec.plus, case .int(let number, _) = value, number >= 0 { text = "+" + text }
            return text
        case "s":
            switch value {
            case .string(let text): return spec.precision.map { String(text.prefix($0)) } ?? text
            case .list(let items, _): return "[" + items.map { formatValue($0, verb: "s", spec: Spec()) }.joined(separator: " ") + "]"
            case .map(let box):
                return "map["
                    + box.sortedKeys.map { "\($0):\(formatValue(box.storage[$0]!, verb: "s", spec: Spec()))" }.joined(separator: " ") + "]"
            case .object(let object) where object.printed != nil: return object.printed!
            default: return bad(verb, value)
            }
        case "q":
            switch value {
            case .string(let text): return quote(text)
            case .int(let number, _): return "'" + (Unicode.Scalar(UInt32(clamping: number)).map { String(Character($0)) } ?? "") + "'"
            case .list(let items, _): return "[" + items.map { formatValue($0, verb: "q", spec: Spec()) }.joined(separator: " ") + "]"
            default: return bad(verb, value)
            }
        case "d":
            switch value {
            case .int(let number, _):
                var text = String(number)
                if spec.plus, number >= 0 { text = "+" + text }
                return text
            case .list(let items, _): return "[" + items.map { formatValue($0, verb: "d", spec: Spec()) }.joined(separator: " ") + "]"
            default: return bad(verb, value)
            }
        case "t":
            if case .bool(let flag) = value { return flag ? "true" : "false" }
            return bad(verb, value)
        case "f", "F", "e", "E", "g", "G":
            switch value {
            case .float(let number): return formatFloat(number, verb, precision: spec.precision, spec: spec)
            default: return bad(verb, value)
            }
        case "x", "X":
            let upper = verb == "X"
            switch value {
            case .int(let number, _):
                let text = String(number, radix: 16, uppercase: upper)
                return (spec.sharp ? (upper ? "0X" : "0x") : "") + text
            case .string(let text):
                return text.utf8.map { String(format: upper ? "%02X" : "%02x", $0) }.joined()
            default: return bad(verb, value)
            }
        case "o":
            if case .int(let number, _) = value { return (spec.sharp ? "0" : "") + String(number, radix: 8) }
            return bad(verb, value)
        case "b":
            if case .int(let number, _) = value { return String(number, radix: 2) }
            return bad(verb, value)
        case "c":
            if case .int(let number, _) = value, let scalar = Unicode.Scalar(UInt32(clamping: number)) { return String(Character(scalar)) }
            return bad(verb, value)
        case "T":
            return goTypeName(value)
        default:
            return bad(verb, value)
        }
    }

    private static func formatFloat(_ number: Double, _ verb: Character, precision: Int?, spec: Spec) -> String {
        var text: String
        switch verb {
        case "f", "F":
            text = String(format: "%.\(precision ?? 6)f", number)
        case "e", "E":
            text = String(format: "%.\(precision ?? 6)\(verb)", number)
        default:
            if let precision {
                text = String(format: "%.\(max(precision, 1))\(verb == "G" ? "G" : "g")", number)
            } else {
                text = formatG(number)
                if verb == "G" { text = text.uppercased() }
            }
        }
        if spec.plus, number >= 0 { text = "+" + text }
        return text
    }

    /// Go's `strconv.Quote`: double quotes, with Go's escapes for control and non-printable
    /// characters.
    public static func quote(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case "\r": result += "\\r"
            case "\u{07}": result += "\\a"
            case "\u{08}": result += "\\b"
            case "\u{0C}": result += "\\f"
            case "\u{0B}": result += "\\v"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    result += String(format: "\\x%02x", scalar.value)
                } else if scalar.value > 0x7F, !scalar.properties.isPrintableForGo {
                    result += scalar.value > 0xFFFF ? String(format: "\\U%08x", scalar.value) : String(format: "\\u%04x", scalar.value)
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }
}

extension Unicode.Scalar.Properties {
    /// Roughly Go's `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols and the
    /// ASCII space.
    var isPrintableForGo: Bool {
        switch generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator, .spaceSeparator:
            return false
        default:
            return true
        }
    }
}
