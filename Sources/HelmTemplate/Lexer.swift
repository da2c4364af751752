/// Splits a template into tokens as Go's `text/template/parse` lexer does: text outside `{{ }}`,
/// trim markers (`{{- ` and ` -}}` eat the whitespace beside them), comments, and inside actions
/// the words of pipelines.
struct Token: Equatable {
    enum Kind: Equatable {
        case text(String)
        case leftDelim, rightDelim, space
        case identifier(String), field(String), variable(String)
        case string(String), char(Int64), number(String)
        case bool(Bool), nilValue, dot
        case pipe, leftParen, rightParen, declare, assign, comma
        case keyword(Keyword)
        case eof
    }

    enum Keyword: String {
        case `if`, `else`, end, range, with, define, template, block, `break`, `continue`
    }

    var kind: Kind
    /// Byte offset in the source, for line and column in errors.
    var offset: Int
}

struct TemplateSyntaxError: Error {
    var message: String
    var offset: Int
}

struct Lexer {
    private let bytes: [UInt8]
    private var position = 0
    private(set) var tokens: [Token] = []
    private var parenDepth = 0

    init(_ source: String) {
        bytes = Array(source.utf8)
    }

    static func tokenize(_ source: String) throws -> [Token] {
        var lexer = Lexer(source)
        try lexer.run()
        return lexer.tokens
    }

    private func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }

    /// The text of `bytes[range]` (decoded from contiguous memory: the fast path).
    private func text(_ range: Range<Int>) -> String {
        bytes.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[range]), as: UTF8.self) }
    }

    private func hasPrefix(_ text: StaticString, at index: Int) -> Bool {
        let count = text.utf8CodeUnitCount
        guard index + count <= bytes.count else { return false }
        let start = text.utf8Start
        for offset in 0..<count where bytes[index + offset] != start[offset] { return false }
        return true
    }

    private func isOpen(at index: Int) -> Bool {
        index + 1 < bytes.count && bytes[index] == 0x7B && bytes[index + 1] == 0x7B
    }

    private mutating func run() throws {
        while position < bytes.count {
            try lexText()
        }
        tokens.append(Token(kind: .eof, offset: bytes.count))
    }

    /// Text up to the next `{{`, trimmed on the right when the action starts with `{{- `.
    private mutating func lexText() throws {
        let start = position
        var index = position
        while index < bytes.count, !isOpen(at: index) { index += 1 }
        var end = index
        var trimLeft = false
        if index + 3 < bytes.count, bytes[index + 2] == UInt8(ascii: "-"), isSpace(bytes[index + 3]) {
            trimLeft = true
            while end > start, isSpace(bytes[end - 1]) { end -= 1 }
        }
        if end > start {
            tokens.append(Token(kind: .text(text(start..<end)), offset: start))
        }
        position = index
        guard index < bytes.count else { return }
        position += 2
        if trimLeft { position += 2 }
        try lexAction(delimiterOffset: index)
    }

    /// After `{{`: a comment, or the words of an action up to `}}`.
    private mutating func lexAction(delimiterOffset: Int) throws {
        if hasPrefix("/*", at: position) {
            guard let close = find("*/", from: position + 2) else {
                throw TemplateSyntaxError(message: "unclosed comment", offset: delimiterOffset)
            }
            position = close + 2
            let (found, trim) = atRightDelimiter()
            guard found else { throw TemplateSyntaxError(message: "comment ends before closing delimiter", offset: position) }
            position += trim ? 4 : 2
            if trim { skipLeadingSpace() }
            return
        }
        tokens.append(Token(kind: .leftDelim, offset: delimiterOffset))
        parenDepth = 0
        while true {
            let (found, trim) = atRightDelimiter()
            if found {
                if parenDepth > 0 { throw TemplateSyntaxError(message: "unclosed left paren", offset: position) }
                tokens.append(Token(kind: .rightDelim, offset: position))
                position += trim ? 4 : 2
                if trim { skipLeadingSpace() }
                return
            }
            guard position < bytes.count else { throw TemplateSyntaxError(message: "unclosed action", offset: delimiterOffset) }
            try lexInsideAction()
        }
    }

    private func atRightDelimiter() -> (Bool, Bool) {
        if position + 1 < bytes.count, isSpace(bytes[position]),
            bytes[position + 1] == UInt8(ascii: "-"), hasPrefix("}}", at: position + 2)
        {
            return (true, true)
        }
        return (hasPrefix("}}", at: position), false)
    }

    private mutating func skipLeadingSpace() {
        while position < bytes.count, isSpace(bytes[position]) { position += 1 }
    }

    private func find(_ text: StaticString, from: Int) -> Int? {
        var index = from
        while index < bytes.count {
            if hasPrefix(text, at: index) { return index }
            index += 1
        }
        return nil
    }

    private mutating func lexInsideAction() throws {
        let start = position
        let byte = bytes[position]
        switch byte {
        case _ where isSpace(byte):
            while position < bytes.count, isSpace(bytes[position]), !atRightDelimiter().1 { position += 1 }
            tokens.append(Token(kind: .space, offset: start))
        case UInt8(ascii: "="):
            position += 1
            tokens.append(Token(kind: .assign, offset: start))
        case UInt8(ascii: ":"):
            guard hasPrefix(":=", at: position) else { throw TemplateSyntaxError(message: "expected :=", offset: start) }
            position += 2
            tokens.append(Token(kind: .declare, offset: start))
        case UInt8(ascii: "|"):
            position += 1
            tokens.append(Token(kind: .pipe, offset: start))
        case UInt8(ascii: ","):
            position += 1
            tokens.append(Token(kind: .comma, offset: start))
        case UInt8(ascii: "\""):
            tokens.append(Token(kind: .string(try lexQuoted()), offset: start))
        case UInt8(ascii: "`"):
            guard let close = bytes[(position + 1)...].firstIndex(of: UInt8(ascii: "`")) else {
                throw TemplateSyntaxError(message: "unterminated raw quoted string", offset: start)
            }
            let text = String(decoding: bytes[(position + 1)..<close].filter { $0 != 0x0D }, as: UTF8.self)
            position = close + 1
            tokens.append(Token(kind: .string(text), offset: start))
        case UInt8(ascii: "'"):
            tokens.append(Token(kind: .char(try lexChar()), offset: start))
        case UInt8(ascii: "$"):
            position += 1
            let name = scanAlphanumeric()
            tokens.append(Token(kind: .variable("$" + name), offset: start))
        case UInt8(ascii: "."):
            if position + 1 < bytes.count, isDigit(bytes[position + 1]) {
                tokens.append(Token(kind: .number(scanNumber()), offset: start))
            } else {
                position += 1
                let name = scanAlphanumeric()
                tokens.append(Token(kind: name.isEmpty ? .dot : .field(name), offset: start))
            }
        case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            tokens.append(Token(kind: .number(scanNumber()), offset: start))
        case UInt8(ascii: "("):
            position += 1
            parenDepth += 1
            tokens.append(Token(kind: .leftParen, offset: start))
        case UInt8(ascii: ")"):
            position += 1
            parenDepth -= 1
            if parenDepth < 0 { throw TemplateSyntaxError(message: "unexpected right paren", offset: start) }
            tokens.append(Token(kind: .rightParen, offset: start))
        case _ where isAlpha(byte):
            let word = scanAlphanumeric()
            guard atTerminator() else {
                throw TemplateSyntaxError(message: "bad character \(Character(Unicode.Scalar(bytes[position])))", offset: position)
            }
            switch word {
            case "true": tokens.append(Token(kind: .bool(true), offset: start))
            case "false": tokens.append(Token(kind: .bool(false), offset: start))
            case "nil": tokens.append(Token(kind: .nilValue, offset: start))
            default:
                if let keyword = Token.Keyword(rawValue: word) {
                    tokens.append(Token(kind: .keyword(keyword), offset: start))
                } else {
                    tokens.append(Token(kind: .identifier(word), offset: start))
                }
            }
        default:
            throw TemplateSyntaxError(message: "unrecognized character in action: \(Character(Unicode.Scalar(byte)))", offset: start)
        }
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    private func isAlpha(_ byte: UInt8) -> Bool {
        (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || byte == UInt8(ascii: "_") || byte >= 0x80
    }

    private func atTerminator() -> Bool {
        guard position < bytes.count else { return true }
        let byte = bytes[position]
        if isSpace(byte) { return true }
        switch byte {
        case UInt8(ascii: "."), UInt8(ascii: ","), UInt8(ascii: "|"), UInt8(ascii: ":"), UInt8(ascii: ")"),
            UInt8(ascii: "("), UInt8(ascii: "="):
            return true
        default:
            return hasPrefix("}}", at: position)
        }
    }

    private mutating func scanAlphanumeric() -> String {
        let start = position
        while position < bytes.count, isAlpha(bytes[position]) || isDigit(bytes[position]) { position += 1 }
        return text(start..<position)
    }

    /// A number as Go's lexer accepts it; the parser decides what it means.
    private mutating func scanNumber() -> String {
        let start = position
        if bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
        var digits = "0123456789_"
        if hasPrefix("0x", at: position) || hasPrefix("0X", at: position) {
            position += 2
            digits = "0123456789abcdefABCDEF_"
        } else if hasPrefix("0o", at: position) || hasPrefix("0O", at: position) {
            position += 2
            digits = "01234567_"
        } else if hasPrefix("0b", at: position) || hasPrefix("0B", at: position) {
            position += 2
            digits = "01_"
        }
        let allowed = Set(digits.utf8)
        func run() { while position < bytes.count, allowed.contains(bytes[position]) { position += 1 } }
        run()
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            run()
        }
        if digits.count == 11, position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
            while position < bytes.count, isDigit(bytes[position]) || bytes[position] == UInt8(ascii: "_") { position += 1 }
        }
        while position < bytes.count, isAlpha(bytes[position]) || isDigit(bytes[position]) { position += 1 }
        return text(start..<position)
    }

    private mutating func lexQuoted() throws -> String {
        let start = position
        position += 1
        var scalars = String.UnicodeScalarView()
        var pending: [UInt8] = []
        func flush() {
            if !pending.isEmpty {
                scalars.append(contentsOf: String(decoding: pending, as: UTF8.self).unicodeScalars)
                pending.removeAll()
            }
        }
        while true {
            guard position < bytes.count, bytes[position] != 0x0A else {
                throw TemplateSyntaxError(message: "unterminated quoted string", offset: start)
            }
            let byte = bytes[position]
            position += 1
            if byte == UInt8(ascii: "\"") { break }
            if byte != UInt8(ascii: "\\") {
                pending.append(byte)
                continue
            }
            guard position < bytes.count else { throw TemplateSyntaxError(message: "unterminated quoted string", offset: start) }
            let escape = bytes[position]
            position += 1
            switch escape {
            case UInt8(ascii: "n"): pending.append(0x0A)
            case UInt8(ascii: "t"): pending.append(0x09)
            case UInt8(ascii: "r"): pending.append(0x0D)
            case UInt8(ascii: "a"): pending.append(0x07)
            case UInt8(ascii: "b"): pending.append(0x08)
            case UInt8(ascii: "f"): pending.append(0x0C)
            case UInt8(ascii: "v"): pending.append(0x0B)
            case UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "'"): pending.append(escape)
            case UInt8(ascii: "x"):
                pending.append(UInt8(try hexValue(count: 2, start: start)))
            case UInt8(ascii: "u"), UInt8(ascii: "U"):
                let value = try hexValue(count: escape == UInt8(ascii: "u") ? 4 : 8, start: start)
                flush()
                guard let scalar = Unicode.Scalar(UInt32(value)) else {
                    throw TemplateSyntaxError(message: "invalid escape", offset: start)
                }
                scalars.append(scalar)
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                position -= 1
                var value = 0
                for _ in 0..<3 {
                    guard position < bytes.count, bytes[position] >= 0x30, bytes[position] <= 0x37 else {
                        throw TemplateSyntaxError(message: "invalid octal escape", offset: start)
                    }
                    value = value * 8 + Int(bytes[position] - 0x30)
                    position += 1
                }
                pending.append(UInt8(truncatingIfNeeded: value))
            default:
                throw TemplateSyntaxError(message: "unknown escape sequence", offset: start)
            }
        }
        flush()
        return String(scalars)
    }

    private mutating func hexValue(count: Int, start: Int) throws -> Int {
        guard position + count <= bytes.count,
            let value = Int(String(decoding: bytes[position..<(position + count)], as: UTF8.self), radix: 16)
        else {
            throw TemplateSyntaxError(message: "invalid escape", offset: start)
        }
        position += count
        return value
    }

    private mutating func lexChar() throws -> Int64 {
        let start = position
        guard let close = bytes[(position + 1)...].firstIndex(of: UInt8(ascii: "'")) else {
            throw TemplateSyntaxError(message: "unterminated character constant", offset: start)
        }
        let body = String(decoding: bytes[(position + 1)..<close], as: UTF8.self)
        position = close + 1
        let simple: [String: Int64] = ["\\n": 10, "\\t": 9, "\\r": 13, "\\\\": 92, "\\'": 39, "\\\"": 34, "\\0": 0]
        if let value = simple[body] { return value }
        guard let scalar = body.unicodeScalars.first, body.unicodeScalars.count == 1 else {
            throw TemplateSyntaxError(message: "malformed character constant: '\(body)'", offset: start)
        }
        return Int64(scalar.value)
    }
}
