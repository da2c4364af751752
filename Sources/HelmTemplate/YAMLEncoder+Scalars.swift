/// go-yaml v2's (libyaml's) reading of a scalar before it is written: which styles it may take
/// (`ScalarAnalysis`), and the UTF-8 character classes the emitter and the analysis share.
extension GoYAML {
    struct ScalarAnalysis {
        var multiline = false
        var flowPlainAllowed = true
        var blockPlainAllowed = true
        var singleQuotedAllowed = true
        var blockAllowed = true

        init(_ text: String) {
            let value = Array(text.utf8)
            if value.isEmpty {
                flowPlainAllowed = false
                blockAllowed = false
                return
            }
            var blockIndicators = false, flowIndicators = false, lineBreaks = false, specialCharacters = false
            var leadingSpace = false, leadingBreak = false, trailingSpace = false, trailingBreak = false
            var breakSpace = false, spaceBreak = false
            var precededByWhitespace = true, previousSpace = false, previousBreak = false
            if value.count >= 3,
                (value[0] == 0x2D && value[1] == 0x2D && value[2] == 0x2D) || (value[0] == 0x2E && value[1] == 0x2E && value[2] == 0x2E)
            {
                blockIndicators = true
                flowIndicators = true
            }
            var index = 0
            while index < value.count {
                let width = utf8Width(value[index])
                let followedByWhitespace = index + width >= value.count || isBlank(value, index + width)
                let byte = value[index]
                let indicator = Self.indicator(
                    byte,
                    first: index == 0,
                    precededByWhitespace: precededByWhitespace,
                    followedByWhitespace: followedByWhitespace
                )
                flowIndicators = flowIndicators || indicator.flow
                blockIndicators = blockIndicators || indicator.block
                if !isPrintable(value, index) { specialCharacters = true }
                if byte == 0x20 {
                    if index == 0 { leadingSpace = true }
                    if index + width == value.count { trailingSpace = true }
                    if previousBreak { breakSpace = true }
                    previousSpace = true
                    previousBreak = false
                } else if isBreak(value, index) {
                    lineBreaks = true
                    if index == 0 { leadingBreak = true }
                    if index + width == value.count { trailingBreak = true }
                    if previousSpace { spaceBreak = true }
                    previousSpace = false
                    previousBreak = true
                } else {
                    previousSpace = false
                    previousBreak = false
                }
                precededByWhitespace = isBlank(value, index) || isBreak(value, index)
                index += width
            }
            multiline = lineBreaks
            if leadingSpace || leadingBreak || trailingSpace || trailingBreak {
                flowPlainAllowed = false
                blockPlainAllowed = false
            }
            if trailingSpace { blockAllowed = false }
            if breakSpace {
                flowPlainAllowed = false
                blockPlainAllowed = false
                singleQuotedAllowed = false
            }
            if spaceBreak || specialCharacters {
                flowPlainAllowed = false
                blockPlainAllowed = false
                singleQuotedAllowed = false
                blockAllowed = false
            }
            if lineBreaks {
                flowPlainAllowed = false
                blockPlainAllowed = false
            }
            if flowIndicators { flowPlainAllowed = false }
            if blockIndicators { blockPlainAllowed = false }
        }

        /// Whether `byte` is an indicator that rules out a plain scalar in flow and in block
        /// context, as go-yaml's emitter decides it (a different set at the scalar's start).
        private static func indicator(
            _ byte: UInt8,
            first: Bool,
            precededByWhitespace: Bool,
            followedByWhitespace: Bool
        ) -> (flow: Bool, block: Bool) {
            if first {
                switch byte {
                case UInt8(ascii: "#"), UInt8(ascii: ","), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "{"), UInt8(ascii: "}"),
                    UInt8(ascii: "&"), UInt8(ascii: "*"), UInt8(ascii: "!"), UInt8(ascii: "|"), UInt8(ascii: ">"), UInt8(ascii: "'"),
                    UInt8(ascii: "\""), UInt8(ascii: "%"), UInt8(ascii: "@"), UInt8(ascii: "`"):
                    return (true, true)
                case UInt8(ascii: "?"), UInt8(ascii: ":"): return (true, followedByWhitespace)
                case UInt8(ascii: "-"): return (followedByWhitespace, followedByWhitespace)
                default: return (false, false)
                }
            }
            switch byte {
            case UInt8(ascii: ","), UInt8(ascii: "?"), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "{"), UInt8(ascii: "}"):
                return (true, false)
            case UInt8(ascii: ":"): return (true, followedByWhitespace)
            case UInt8(ascii: "#"): return (precededByWhitespace, precededByWhitespace)
            default: return (false, false)
            }
        }
    }
}

func utf8Width(_ byte: UInt8) -> Int {
    if byte & 0x80 == 0 { return 1 }
    if byte & 0xE0 == 0xC0 { return 2 }
    if byte & 0xF0 == 0xE0 { return 3 }
    if byte & 0xF8 == 0xF0 { return 4 }
    return 1
}

func decodeScalar(_ value: [UInt8], _ index: Int) -> (UInt32, Int) {
    let width = utf8Width(value[index])
    var scalar: UInt32
    switch width {
    case 2: scalar = UInt32(value[index] & 0x1F)
    case 3: scalar = UInt32(value[index] & 0x0F)
    case 4: scalar = UInt32(value[index] & 0x07)
    default: scalar = UInt32(value[index] & 0x7F)
    }
    for k in 1..<width where index + k < value.count {
        scalar = (scalar << 6) + UInt32(value[index + k] & 0x3F)
    }
    return (scalar, width)
}

func isBreak(_ value: [UInt8], _ index: Int) -> Bool {
    guard index < value.count else { return false }
    let byte = value[index]
    if byte == 0x0D || byte == 0x0A { return true }
    if byte == 0xC2, index + 1 < value.count, value[index + 1] == 0x85 { return true }
    if byte == 0xE2, index + 2 < value.count, value[index + 1] == 0x80, value[index + 2] == 0xA8 || value[index + 2] == 0xA9 { return true }
    return false
}

func isBlank(_ value: [UInt8], _ index: Int) -> Bool {
    guard index < value.count else { return false }
    return value[index] == 0x20 || value[index] == 0x09
}

func isBOM(_ value: [UInt8], _ index: Int) -> Bool {
    index + 2 < value.count && value[index] == 0xEF && value[index + 1] == 0xBB && value[index + 2] == 0xBF
}

/// libyaml's `is_printable`.
func isPrintable(_ value: [UInt8], _ index: Int) -> Bool {
    let byte = value[index]
    let next = index + 1 < value.count ? value[index + 1] : 0
    let third = index + 2 < value.count ? value[index + 2] : 0
    return byte == 0x0A || (byte >= 0x20 && byte <= 0x7E)
        || (byte == 0xC2 && next >= 0xA0) || (byte > 0xC2 && byte < 0xED)
        || (byte == 0xED && next < 0xA0) || (byte == 0xEE)
        || (byte == 0xEF && !(next == 0xBB && third == 0xBF) && !(next == 0xBF && (third == 0xBE || third == 0xBF)))
}
