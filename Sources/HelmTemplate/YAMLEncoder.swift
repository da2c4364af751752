import Foundation

/// Helm's `toYaml`: `sigs.k8s.io/yaml.Marshal`, which marshals to JSON and re-emits that with
/// go-yaml v2. The bytes matter (charts hash rendered text into checksum annotations), so this
/// follows go-yaml v2's emitter: its scalar styles, its natural key order, compact sequences in
/// mappings, and folding of long plain and quoted scalars at 80 columns.
public enum GoYAML {
    /// The YAML text of `value` with its final newline, as `yaml.Marshal` gives it.
    public static func marshal(_ value: TemplateValue) -> String {
        var emitter = Emitter()
        emitter.emit(node(from: JSONNormal.normalise(value)), root: true, sequence: false, mapping: false, simpleKey: false)
        emitter.writeIndent()
        return String(decoding: emitter.output, as: UTF8.self)
    }

    indirect enum Node {
        case scalar(String, Style)
        case mapping([(String, Node)])
        case sequence([Node])
    }

    enum Style { case plain, doubleQuoted, literal, singleQuoted }

    static func node(from value: JSONNormal) -> Node {
        switch value {
        case .null: return .scalar("null", .plain)
        case .bool(let flag): return .scalar(flag ? "true" : "false", .plain)
        case .number(let text): return .scalar(text, .plain)
        case .string(let text): return .scalar(text, stringStyle(text))
        case .array(let items): return .sequence(items.map(node(from:)))
        case .object(let pairs):
            let keys = pairs.map(\.0).sorted(by: naturalLess)
            let table = Dictionary(pairs, uniquingKeysWith: { _, last in last })
            return .mapping(keys.map { ($0, node(from: table[$0]!)) })
        }
    }

    /// go-yaml v2's `stringv`: a literal block for text with newlines, plain when the text would
    /// read back as a string, double-quoted otherwise.
    static func stringStyle(_ text: String) -> Style {
        if text.contains("\n") { return .literal }
        if YAMLResolver.resolvesToString(text) && !YAMLResolver.isBase60Float(text) { return .plain }
        return .doubleQuoted
    }

    /// go-yaml v2's key order: numbers inside keys compare by value, letters before other runes.
    static func naturalLess(_ a: String, _ b: String) -> Bool {
        let ar = Array(a.unicodeScalars), br = Array(b.unicodeScalars)
        var index = 0
        while index < ar.count && index < br.count {
            defer { index += 1 }
            if ar[index] == br[index] { continue }
            let al = ar[index].properties.isAlphabetic, bl = br[index].properties.isAlphabetic
            if al && bl { return ar[index].value < br[index].value }
            if al || bl { return bl }
            var an: Int64 = 0, bn: Int64 = 0
            if ar[index] == "0" || br[index] == "0" {
                var j = index - 1
                while j >= 0, isDigit(ar[j]) {
                    if ar[j] != "0" {
                        an = 1
                        bn = 1
                        break
                    }
                    j -= 1
                }
            }
            var ai = index, bi = index
            while ai < ar.count, isDigit(ar[ai]) {
                an = an &* 10 &+ Int64(ar[ai].value - 48)
                ai += 1
            }
            while bi < br.count, isDigit(br[bi]) {
                bn = bn &* 10 &+ Int64(br[bi].value - 48)
                bi += 1
            }
            if an != bn { return an < bn }
            if ai != bi { return ai < bi }
            return ar[index].value < br[index].value
        }
        return ar.count < br.count
    }

    private static func isDigit(_ scalar: Unicode.Scalar) -> Bool { scalar.value >= 48 && scalar.value <= 57 }

    /// go-yaml v2's emitter, cut down to block mappings, block sequences and scalars.
    struct Emitter {
        var output: [UInt8] = []
        var column = 0
        var indent = -1
        var indents: [Int] = []
        var whitespace = true
        var indention = true
        var flowLevel = 0
        let bestIndent = 2
        let bestWidth = 80
        var mappingContext = false
        var simpleKeyContext = false

        mutating func emit(_ node: Node, root: Bool, sequence: Bool, mapping: Bool, simpleKey: Bool) {
            mappingContext = mapping
            simpleKeyContext = simpleKey
            switch node {
            case .scalar(let text, let style):
                emitScalar(text, style)
            case .sequence(let items):
                if items.isEmpty || flowLevel > 0 {
                    writeIndicator("[", needWhitespace: true, isWhitespace: true, isIndention: false)
                    writeIndicator("]", needWhitespace: false, isWhitespace: false, isIndention: false)
                    return
                }
                increaseIndent(flow: false, indentless: mappingContext && !indention)
                for item in items {
                    writeIndent()
                    writeIndicator("-", needWhitespace: true, isWhitespace: false, isIndention: true)
                    emit(item, root: false, sequence: true, mapping: false, simpleKey: false)
                }
                indent = indents.removeLast()
            case .mapping(let pairs):
                if pairs.isEmpty || flowLevel > 0 {
                    writeIndicator("{", needWhitespace: true, isWhitespace: true, isIndention: false)
                    writeIndicator("}", needWhitespace: false, isWhitespace: false, isIndention: false)
                    return
                }
                increaseIndent(flow: false, indentless: false)
                for (key, value) in pairs {
                    writeIndent()
                    if isSimpleKey(key) {
                        emit(.scalar(key, stringStyle(key)), root: false, sequence: false, mapping: true, simpleKey: true)
                        writeIndicator(":", needWhitespace: false, isWhitespace: false, isIndention: false)
                    } else {
                        writeIndicator("?", needWhitespace: true, isWhitespace: false, isIndention: true)
                        emit(.scalar(key, stringStyle(key)), root: false, sequence: false, mapping: true, simpleKey: false)
                        writeIndent()
                        writeIndicator(":", needWhitespace: true, isWhitespace: false, isIndention: true)
                    }
                    emit(value, root: false, sequence: false, mapping: true, simpleKey: false)
                }
                indent = indents.removeLast()
            }
        }

        private func isSimpleKey(_ key: String) -> Bool {
            key.utf8.count <= 128 && !key.contains("\n")
        }

        mutating func increaseIndent(flow: Bool, indentless: Bool) {
            indents.append(indent)
            if indent < 0 {
                indent = flow ? bestIndent : 0
            } else if !indentless {
                indent += bestIndent
            }
        }

        private mutating func emitScalar(_ text: String, _ requested: Style) {
            let analysis = ScalarAnalysis(text)
            var style = requested
            if simpleKeyContext && analysis.multiline { style = .doubleQuoted }
            if style == .plain {
                if (flowLevel > 0 && !analysis.flowPlainAllowed) || (flowLevel == 0 && !analysis.blockPlainAllowed) {
                    style = .singleQuoted
                }
                if text.isEmpty && (flowLevel > 0 || simpleKeyContext) { style = .singleQuoted }
            }
            if style == .singleQuoted, !analysis.singleQuotedAllowed { style = .doubleQuoted }
            if style == .literal, !analysis.blockAllowed || flowLevel > 0 || simpleKeyContext { style = .doubleQuoted }
            increaseIndent(flow: true, indentless: false)
            let bytes = Array(text.utf8)
            switch style {
            case .plain: writePlain(bytes, allowBreaks: !simpleKeyContext)
            case .singleQuoted: writeSingleQuoted(bytes, allowBreaks: !simpleKeyContext)
            case .doubleQuoted: writeDoubleQuoted(bytes, allowBreaks: !simpleKeyContext)
            case .literal: writeLiteral(bytes)
            }
            indent = indents.removeLast()
        }

        // MARK: writing

        private mutating func put(_ byte: UInt8) {
            output.append(byte)
            column += 1
        }

        private mutating func putBreak() {
            output.append(0x0A)
            column = 0
        }

        /// Writes one UTF-8 character starting at `index`, counting one column for it.
        private mutating func write(_ bytes: [UInt8], _ index: inout Int) {
            let width = utf8Width(bytes[index])
            output.append(contentsOf: bytes[index..<min(index + width, bytes.count)])
            column += 1
            index += width
        }

        private mutating func writeBreak(_ bytes: [UInt8], _ index: inout Int) {
            if bytes[index] == 0x0A {
                putBreak()
                index += 1
            } else {
                write(bytes, &index)
                column = 0
            }
        }

        mutating func writeIndent() {
            let target = max(indent, 0)
            if !indention || column > target || (column == target && !whitespace) { putBreak() }
            while column < target { put(0x20) }
            whitespace = true
            indention = true
        }

        mutating func writeIndicator(_ indicator: String, needWhitespace: Bool, isWhitespace: Bool, isIndention: Bool) {
            if needWhitespace && !whitespace { put(0x20) }
            for byte in indicator.utf8 { put(byte) }
            whitespace = isWhitespace
            indention = indention && isIndention
        }

        private mutating func writePlain(_ value: [UInt8], allowBreaks: Bool) {
            if !whitespace { put(0x20) }
            writeFolding(value, allowBreaks: allowBreaks, singleQuoted: false)
            whitespace = false
            indention = false
        }

        private mutating func writeSingleQuoted(_ value: [UInt8], allowBreaks: Bool) {
            writeIndicator("'", needWhitespace: true, isWhitespace: false, isIndention: false)
            writeFolding(value, allowBreaks: allowBreaks, singleQuoted: true)
            writeIndicator("'", needWhitespace: false, isWhitespace: false, isIndention: false)
            whitespace = false
            indention = false
        }

        /// The body of a plain or single-quoted scalar, as go-yaml's emitter writes both: past the
        /// width a single space becomes a line break (inside quotes, never the first or last
        /// character), a line break is written twice, and a quote inside quotes is doubled.
        private mutating func writeFolding(_ value: [UInt8], allowBreaks: Bool, singleQuoted: Bool) {
            var spaces = false, breaks = false
            var index = 0
            while index < value.count {
                if value[index] == 0x20 {
                    let inside = !singleQuoted || (index > 0 && index < value.count - 1)
                    if allowBreaks && !spaces && column > bestWidth && inside && !(index + 1 < value.count && value[index + 1] == 0x20) {
                        writeIndent()
                        index += 1
                    } else {
                        write(value, &index)
                    }
                    spaces = true
                } else if isBreak(value, index) {
                    if !breaks && value[index] == 0x0A { putBreak() }
                    writeBreak(value, &index)
                    indention = true
                    breaks = true
                } else {
                    if breaks { writeIndent() }
                    if singleQuoted && value[index] == UInt8(ascii: "'") { put(UInt8(ascii: "'")) }
                    write(value, &index)
                    indention = false
                    spaces = false
                    breaks = false
                }
            }
        }

        private mutating func writeDoubleQuoted(_ value: [UInt8], allowBreaks: Bool) {
            var spaces = false
            writeIndicator("\"", needWhitespace: true, isWhitespace: false, isIndention: false)
            var index = 0
            while index < value.count {
                let byte = value[index]
                if !isPrintable(value, index) || isBOM(value, index) || isBreak(value, index) || byte == UInt8(ascii: "\"")
                    || byte == UInt8(ascii: "\\")
                {
                    let (scalar, width) = decodeScalar(value, index)
                    index += width
                    put(UInt8(ascii: "\\"))
                    switch scalar {
                    case 0x00: put(UInt8(ascii: "0"))
                    case 0x07: put(UInt8(ascii: "a"))
                    case 0x08: put(UInt8(ascii: "b"))
                    case 0x09: put(UInt8(ascii: "t"))
                    case 0x0A: put(UInt8(ascii: "n"))
                    case 0x0B: put(UInt8(ascii: "v"))
                    case 0x0C: put(UInt8(ascii: "f"))
                    case 0x0D: put(UInt8(ascii: "r"))
                    case 0x1B: put(UInt8(ascii: "e"))
                    case 0x22: put(UInt8(ascii: "\""))
                    case 0x5C: put(UInt8(ascii: "\\"))
                    case 0x85: put(UInt8(ascii: "N"))
                    case 0xA0: put(UInt8(ascii: "_"))
                    case 0x2028: put(UInt8(ascii: "L"))
                    case 0x2029: put(UInt8(ascii: "P"))
                    default:
                        let (letter, digits): (Character, Int) = scalar <= 0xFF ? ("x", 2) : scalar <= 0xFFFF ? ("u", 4) : ("U", 8)
                        put(UInt8(ascii: letter.unicodeScalars.first!))
                        for shift in stride(from: (digits - 1) * 4, through: 0, by: -4) {
                            let digit = UInt8((scalar >> UInt32(shift)) & 0x0F)
                            put(digit < 10 ? digit + 48 : digit + 55)
                        }
                    }
                    spaces = false
                } else if byte == 0x20 {
                    if allowBreaks && !spaces && column > bestWidth && index > 0 && index < value.count - 1 {
                        writeIndent()
                        if index + 1 < value.count && value[index + 1] == 0x20 { put(UInt8(ascii: "\\")) }
                        index += 1
                    } else {
                        write(value, &index)
                    }
                    spaces = true
                } else {
                    write(value, &index)
                    spaces = false
                }
            }
            writeIndicator("\"", needWhitespace: false, isWhitespace: false, isIndention: false)
            whitespace = false
            indention = false
        }

        private mutating func writeLiteral(_ value: [UInt8]) {
            writeIndicator("|", needWhitespace: true, isWhitespace: false, isIndention: false)
            // Block scalar hints: an indentation indicator when the text starts with a space or
            // break, and the chomping indicator its trailing breaks call for.
            if !value.isEmpty, value[0] == 0x20 || isBreak(value, 0) {
                writeIndicator(String(bestIndent), needWhitespace: false, isWhitespace: false, isIndention: false)
            }
            var chomp: String?
            if value.isEmpty {
                chomp = "-"
            } else {
                var last = value.count - 1
                while value[last] & 0xC0 == 0x80 { last -= 1 }
                if !isBreak(value, last) {
                    chomp = "-"
                } else if last == 0 {
                    chomp = "+"
                } else {
                    var previous = last - 1
                    while value[previous] & 0xC0 == 0x80 { previous -= 1 }
                    if isBreak(value, previous) { chomp = "+" }
                }
            }
            if let chomp { writeIndicator(chomp, needWhitespace: false, isWhitespace: false, isIndention: false) }
            putBreak()
            indention = true
            whitespace = true
            var breaks = true
            var index = 0
            while index < value.count {
                if isBreak(value, index) {
                    writeBreak(value, &index)
                    indention = true
                    breaks = true
                } else {
                    if breaks { writeIndent() }
                    write(value, &index)
                    indention = false
                    breaks = false
                }
            }
        }
    }
}
