import Foundation

/// Sprig's string functions, with Sprig's argument order (the subject last, so it can be piped).
enum SprigStrings {
    static var all: [String: TemplateFunction] {
        var table: [String: TemplateFunction] = [
            "upper": unary { $0.uppercased() },
            "lower": unary { $0.lowercased() },
            "title": unary(title),
            "untitle": unary { text in
                text.split(separator: " ", omittingEmptySubsequences: false).map { word in
                    word.isEmpty ? "" : word.prefix(1).lowercased() + word.dropFirst()
                }.joined(separator: " ")
            },
            "trim": unary { $0.trimmingCharacters(in: .whitespacesAndNewlines) },
            "nospace": unary { $0.filter { !$0.isWhitespace } },
            "trimAll": binary { cutset, text in trim(text, cutset: cutset, leading: true, trailing: true) },
            "trimSuffix": binary { suffix, text in text.hasSuffix(suffix) && !suffix.isEmpty ? String(text.dropLast(suffix.count)) : text },
            "trimPrefix": binary { prefix, text in text.hasPrefix(prefix) && !prefix.isEmpty ? String(text.dropFirst(prefix.count)) : text
            },
            "contains": { args in
                let a = try Arguments("contains", args, count: 2)
                return .bool(try a.string(0).isEmpty || (try a.string(1)).contains(try a.string(0)))
            },
            "hasPrefix": { args in
                let a = try Arguments("hasPrefix", args, count: 2)
                return .bool(try a.string(1).hasPrefix(try a.string(0)))
            },
            "hasSuffix": { args in
                let a = try Arguments("hasSuffix", args, count: 2)
                return .bool(try a.string(1).hasSuffix(try a.string(0)))
            },
            "replace": { args in
                let a = try Arguments("replace", args, count: 3)
                let (old, new, text) = (try a.string(0), try a.string(1), try a.string(2))
                return .string(replaceAll(text, old, new))
            },
            "repeat": { args in
                let a = try Arguments("repeat", args, count: 2)
                return .string(String(repeating: try a.string(1), count: max(0, try a.int(0))))
            },
            "substr": { args in
                let a = try Arguments("substr", args, count: 3)
                let bytes = Array(try a.string(2).utf8)
                var (start, end) = (try a.int(0), try a.int(1))
                if start < 0 { return .string(String(decoding: bytes[..<min(max(end, 0), bytes.count)], as: UTF8.self)) }
                if end < 0 || end > bytes.count { end = bytes.count }
                start = min(start, end)
                return .string(String(decoding: bytes[start..<end], as: UTF8.self))
            },
            "trunc": { args in
                let a = try Arguments("trunc", args, count: 2)
                let count = try a.int(0)
                let bytes = Array(try a.string(1).utf8)
                if count < 0, bytes.count + count > 0 { return .string(String(decoding: bytes[(bytes.count + count)...], as: UTF8.self)) }
                if count >= 0, bytes.count > count { return .string(String(decoding: bytes[..<count], as: UTF8.self)) }
                return .string(String(decoding: bytes, as: UTF8.self))
            },
            "quote": { args in
                .string(args.filter { !$0.isNull }.map { GoFormat.quote(stringValue($0)) }.joined(separator: " "))
            },
            "squote": { args in
                .string(args.filter { !$0.isNull }.map { "'" + stringValue($0) + "'" }.joined(separator: " "))
            },
            "cat": { args in
                .string(args.filter { !$0.isNull }.map { GoFormat.print($0) }.joined(separator: " "))
            },
            "indent": { args in
                let a = try Arguments("indent", args, count: 2)
                return .string(indent(try a.int(0), try a.string(1)))
            },
            "nindent": { args in
                let a = try Arguments("nindent", args, count: 2)
                return .string("\n" + indent(try a.int(0), try a.string(1)))
            },
            "toString": { args in
                let a = try Arguments("toString", args, count: 1)
                return .string(stringValue(a[0]))
            },
            "toStrings": { args in
                let a = try Arguments("toStrings", args, count: 1)
                return .strings((a[0].listValue ?? [a[0]]).map(stringValue))
            },
            "join": { args in
                let a = try Arguments("join", args, count: 2)
                return .string(stringSlice(a[1]).joined(separator: try a.string(0)))
            },
            "split": { args in
                let a = try Arguments("split", args, count: 2)
                let parts = split(try a.string(1), separator: try a.string(0), limit: -1)
                return .map(
                    MapBox(
                        Dictionary(uniqueKeysWithValues: parts.enumerated().map { ("_\($0.offset)", .string($0.element)) }),
                        element: "string"
                    )
                )
            },
            "splitn": { args in
                let a = try Arguments("splitn", args, count: 3)
                let parts = split(try a.string(2), separator: try a.string(0), limit: try a.int(1))
                return .map(
                    MapBox(
                        Dictionary(uniqueKeysWithValues: parts.enumerated().map { ("_\($0.offset)", .string($0.element)) }),
                        element: "string"
                    )
                )
            },
            "splitList": { args in
                let a = try Arguments("splitList", args, count: 2)
                return .strings(split(try a.string(1), separator: try a.string(0), limit: -1))
            },
            "plural": { args in
                let a = try Arguments("plural", args, count: 3)
                return .string(try a.int(2) == 1 ? try a.string(0) : try a.string(1))
            },
            "snakecase": unary { words($0).map { $0.lowercased() }.joined(separator: "_") },
            "kebabcase": unary { words($0).map { $0.lowercased() }.joined(separator: "-") },
            "camelcase": unary { text in
                text.split(separator: "_").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
            },
            "swapcase": unary { text in
                String(text.map { $0.isUppercase ? Character($0.lowercased()) : Character($0.uppercased()) })
            },
            "initials": unary { text in text.split(separator: " ").compactMap { $0.first.map(String.init) }.joined() },
            "wrap": { args in
                let a = try Arguments("wrap", args, count: 2)
                return .string(wrap(try a.string(1), width: try a.int(0), newline: "\n"))
            },
            "wrapWith": { args in
                let a = try Arguments("wrapWith", args, count: 3)
                return .string(wrap(try a.string(2), width: try a.int(0), newline: try a.string(1)))
            },
            "abbrev": { args in
                let a = try Arguments("abbrev", args, count: 2)
                let (width, text) = (try a.int(0), try a.string(1))
                if width < 4 || text.count <= width { return .string(text) }
                return .string(String(text.prefix(width - 3)) + "...")
            },
            "base": unary { ($0 as NSString).lastPathComponent.isEmpty ? "." : goPathBase($0) },
            "dir": unary(goPathDir),
            "clean": unary(goPathClean),
            "ext": unary { text in
                let base = goPathBase(text)
                guard let dot = base.lastIndex(of: ".") else { return "" }
                return String(base[dot...])
            },
            "isAbs": { args in .bool(try Arguments("isAbs", args, count: 1).string(0).hasPrefix("/")) },
            "b64enc": unary { Data($0.utf8).base64EncodedString() },
            "b64dec": unary { text in
                guard let data = Data(base64Encoded: text) else { return "illegal base64 data at input byte 0" }
                return String(decoding: data, as: UTF8.self)
            },
            "b32enc": unary { base32Encode(Array($0.utf8)) },
            "atoi": { args in .integer(Int(try Arguments("atoi", args, count: 1).string(0)) ?? 0) },
            "getHostByName": { _ in .string("") },
            "urlParse": { args in
                let text = try Arguments("urlParse", args, count: 1).string(0)
                guard let url = URLComponents(string: text) else { throw FunctionError("unable to parse url: \(text)") }
                var host = url.percentEncodedHost ?? ""
                if let port = url.port { host += ":\(port)" }
                let userinfo = url.percentEncodedUser.map { user in user + (url.percentEncodedPassword.map { ":" + $0 } ?? "") } ?? ""
                return .map(
                    MapBox([
                        "scheme": .string(url.scheme ?? ""), "host": .string(host), "hostname": .string(url.host ?? ""),
                        "path": .string(url.path), "query": .string(url.percentEncodedQuery ?? ""), "opaque": .string(""),
                        "fragment": .string(url.fragment ?? ""), "userinfo": .string(userinfo),
                    ])
                )
            },
            "urlJoin": { args in
                let box = try Arguments("urlJoin", args, count: 1).map(0)
                var url = URLComponents()
                url.scheme = box["scheme"].map(stringValue).flatMap { $0.isEmpty ? nil : $0 }
                let host = box["host"].map(stringValue) ?? ""
                if let colon = host.lastIndex(of: ":"), let port = Int(host[host.index(after: colon)...]) {
                    url.host = String(host[..<colon])
                    url.port = port
                } else if !host.isEmpty {
                    url.host = host
                }
                url.path = box["path"].map(stringValue) ?? ""
                url.percentEncodedQuery = box["query"].map(stringValue).flatMap { $0.isEmpty ? nil : $0 }
                url.fragment = box["fragment"].map(stringValue).flatMap { $0.isEmpty ? nil : $0 }
                return .string(url.string ?? "")
            },
            "uuidv4": { _ in .string(UUID().uuidString.lowercased()) },
            "shuffle": unary { String($0.shuffled()) },
        ]
        for (name, function) in regexFunctions { table[name] = function }
        return table
    }

    static func unary(_ body: @escaping (String) -> String) -> TemplateFunction {
        { args in .string(body(try Arguments("function", args, count: 1).string(0))) }
    }

    static func binary(_ body: @escaping (String, String) -> String) -> TemplateFunction {
        { args in
            let a = try Arguments("function", args, count: 2)
            return .string(body(try a.string(0), try a.string(1)))
        }
    }

    static func indent(_ spaces: Int, _ text: String) -> String {
        let pad = String(repeating: " ", count: max(0, spaces))
        return pad + text.replacingAll("\n", with: "\n" + pad)
    }

    /// Go's `strings.Replace(s, old, new, -1)`, including the empty `old` case.
    static func replaceAll(_ text: String, _ old: String, _ new: String) -> String {
        if old.isEmpty {
            var out = new
            for character in text.unicodeScalars { out.unicodeScalars.append(character); out += new }
            return out
        }
        return text.replacingAll(old, with: new)
    }

    /// Go's `strings.Split` / `SplitN`.
    static func split(_ text: String, separator: String, limit: Int) -> [String] {
        if limit == 0 { return [] }
        if separator.isEmpty {
            var parts = text.unicodeScalars.map { String($0) }
            if limit > 0, parts.count > limit {
                let rest = parts[(limit - 1)...].joined()
                parts = Array(parts[..<(limit - 1)]) + [rest]
            }
            return parts
        }
        var parts: [String] = []
        var remainder = Substring(text)
        while let range = remainder.range(of: separator), limit < 0 || parts.count < limit - 1 {
            parts.append(String(remainder[..<range.lowerBound]))
            remainder = remainder[range.upperBound...]
        }
        parts.append(String(remainder))
        return parts
    }

    static func trim(_ text: String, cutset: String, leading: Bool, trailing: Bool) -> String {
        let set = Set(cutset.unicodeScalars)
        var scalars = Array(text.unicodeScalars)
        if leading { while let first = scalars.first, set.contains(first) { scalars.removeFirst() } }
        if trailing { while let last = scalars.last, set.contains(last) { scalars.removeLast() } }
        var out = ""
        out.unicodeScalars.append(contentsOf: scalars)
        return out
    }

    /// Go's deprecated `strings.Title`: the first letter of each word upper-cased.
    static func title(_ text: String) -> String {
        var out = ""
        var previous: Character = " "
        for character in text {
            let boundary = !(previous.isLetter || previous.isNumber || previous == "_" || previous == "'")
            out += boundary ? character.uppercased() : String(character)
            previous = character
        }
        return out
    }

    private static func words(_ text: String) -> [String] {
        var words: [String] = []
        var current = ""
        for character in text {
            if character == "_" || character == "-" || character == " " {
                if !current.isEmpty { words.append(current); current = "" }
            } else if character.isUppercase, !current.isEmpty, current.last?.isLowercase == true {
                words.append(current)
                current = String(character)
            } else {
                current.append(character)
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    private static func wrap(_ text: String, width: Int, newline: String) -> String {
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty, line.count + 1 + word.count > width {
                lines.append(line)
                line = String(word)
            } else {
                line += (line.isEmpty ? "" : " ") + word
            }
        }
        lines.append(line)
        return lines.joined(separator: newline)
    }

    static func goPathBase(_ path: String) -> String {
        if path.isEmpty { return "." }
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        if trimmed == "/" { return "/" }
        if let slash = trimmed.lastIndex(of: "/") { return String(trimmed[trimmed.index(after: slash)...]) }
        return String(trimmed)
    }

    static func goPathDir(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return goPathClean(String(path[...slash]))
    }

    static func goPathClean(_ path: String) -> String {
        if path.isEmpty { return "." }
        let rooted = path.hasPrefix("/")
        var parts: [Substring] = []
        for part in path.split(separator: "/") {
            if part == "." { continue }
            if part == "..", let last = parts.last, last != ".." { parts.removeLast(); continue }
            if part == "..", rooted { continue }
            parts.append(part)
        }
        let joined = parts.joined(separator: "/")
        if rooted { return "/" + joined }
        return joined.isEmpty ? "." : joined
    }

    private static func base32Encode(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        var out = ""
        var buffer = 0, bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | Int(byte)
            bits += 8
            while bits >= 5 {
                out.append(alphabet[(buffer >> (bits - 5)) & 31])
                bits -= 5
            }
        }
        if bits > 0 { out.append(alphabet[(buffer << (5 - bits)) & 31]) }
        while out.count % 8 != 0 { out += "=" }
        return out
    }
}
