import Foundation
import Hashing

/// Sprig's logic, type, encoding and version functions, and Helm's own additions (`toYaml`,
/// `fromYaml`, `required`, `fail`, `lookup`, ...). `include` and `tpl` live in the evaluator.
enum HelmFunctions {
    static var all: [String: TemplateFunction] {
        [
            "default": { args in
                let a = try Arguments("default", args, atLeast: 1)
                if a.count < 2 || a[1].isEmpty { return a[0] }
                return a[1]
            },
            "empty": { args in .bool(try Arguments("empty", args, count: 1)[0].isEmpty) },
            "coalesce": { args in args.first { !$0.isEmpty } ?? .null },
            "all": { args in .bool(args.allSatisfy { !$0.isEmpty }) },
            "any": { args in .bool(args.contains { !$0.isEmpty }) },
            "ternary": { args in
                let a = try Arguments("ternary", args, count: 3)
                return try a.bool(2) ? a[0] : a[1]
            },
            "required": { args in
                let a = try Arguments("required", args, count: 2)
                let message = try a.string(0)
                if a[1].isNull { throw FunctionError(message, raisedByChart: true) }
                if case .string(let text) = a[1], text.isEmpty { throw FunctionError(message, raisedByChart: true) }
                return a[1]
            },
            "fail": { args in
                let a = try Arguments("fail", args, count: 1)
                throw FunctionError(try a.string(0), raisedByChart: true)
            },
            "lookup": { args in
                _ = try Arguments("lookup", args, count: 4)
                return .map(MapBox())
            },
            "typeOf": { args in .string(try Arguments("typeOf", args, count: 1)[0].typeName) },
            "kindOf": { args in .string(try Arguments("kindOf", args, count: 1)[0].kindName) },
            "typeIs": { args in
                let a = try Arguments("typeIs", args, count: 2)
                return .bool(try a.string(0) == a[1].typeName)
            },
            "typeIsLike": { args in
                let a = try Arguments("typeIsLike", args, count: 2)
                let wanted = try a.string(0)
                return .bool(wanted == a[1].typeName || wanted == "*" + a[1].typeName)
            },
            "kindIs": { args in
                let a = try Arguments("kindIs", args, count: 2)
                return .bool(try a.string(0) == a[1].kindName)
            },
            "toYaml": { args in .string(trimmedNewline(GoYAML.marshal(try Arguments("toYaml", args, count: 1)[0]))) },
            "mustToYaml": { args in .string(trimmedNewline(GoYAML.marshal(try Arguments("mustToYaml", args, count: 1)[0]))) },
            "toYamlPretty": { args in .string(trimmedNewline(GoYAML.marshal(try Arguments("toYamlPretty", args, count: 1)[0]))) },
            "fromYaml": { args in
                let text = try Arguments("fromYaml", args, count: 1).string(0)
                do {
                    let value = try GoYAMLDecoder.decode(text)
                    if case .map = value { return value }
                    if value.isNull { return .map(MapBox()) }
                    return .map(
                        MapBox([
                            "Error": .string(
                                """
                                error unmarshaling JSON: while decoding JSON: json: cannot unmarshal \
                                \(value.kindName == "slice" ? "array" : value.kindName) into Go value of type map[string]interface {}
                                """
                            )
                        ])
                    )
                } catch {
                    return .map(MapBox(["Error": .string("error converting YAML to JSON: \(error)")]))
                }
            },
            "fromYamlArray": { args in
                let text = try Arguments("fromYamlArray", args, count: 1).string(0)
                do {
                    let value = try GoYAMLDecoder.decode(text)
                    if case .list = value { return value }
                    if value.isNull { return .list([]) }
                    return .list([
                        .string(
                            """
                            error unmarshaling JSON: while decoding JSON: json: cannot unmarshal object into Go value of type \
                            []interface {}
                            """
                        )
                    ])
                } catch {
                    return .list([.string("error converting YAML to JSON: \(error)")])
                }
            },
            "toJson": { args in .string(GoJSON.marshal(try Arguments("toJson", args, count: 1)[0])) },
            "mustToJson": { args in .string(GoJSON.marshal(try Arguments("mustToJson", args, count: 1)[0])) },
            "toRawJson": { args in .string(rawJSON(GoJSON.marshal(try Arguments("toRawJson", args, count: 1)[0]))) },
            "mustToRawJson": { args in .string(rawJSON(GoJSON.marshal(try Arguments("mustToRawJson", args, count: 1)[0]))) },
            "toPrettyJson": { args in .string(prettyJSON(try Arguments("toPrettyJson", args, count: 1)[0])) },
            "mustToPrettyJson": { args in .string(prettyJSON(try Arguments("mustToPrettyJson", args, count: 1)[0])) },
            "fromJson": { args in
                let text = try Arguments("fromJson", args, count: 1).string(0)
                guard let value = try? GoJSON.unmarshal(text), case .map = value else {
                    return .map(MapBox(["Error": .string("invalid character in JSON")]))
                }
                return value
            },
            "fromJsonArray": { args in
                let text = try Arguments("fromJsonArray", args, count: 1).string(0)
                guard let value = try? GoJSON.unmarshal(text), case .list = value else {
                    return .list([.string("invalid character in JSON")])
                }
                return value
            },
            "sha256sum": { args in
                .string(SHA256Hasher.hex(Array(try Arguments("sha256sum", args, count: 1).string(0).utf8)))
            },
            "sha1sum": { args in .string(SHA1.hex(Array(try Arguments("sha1sum", args, count: 1).string(0).utf8))) },
            "adler32sum": { args in
                var a: UInt32 = 1, b: UInt32 = 0
                for byte in try Arguments("adler32sum", args, count: 1).string(0).utf8 {
                    a = (a + UInt32(byte)) % 65521
                    b = (b + a) % 65521
                }
                return .string(String((b << 16) | a))
            },
            "semver": { args in
                let text = try Arguments("semver", args, count: 1).string(0)
                guard let version = SemanticVersion(lenient: text) else { throw FunctionError("Invalid Semantic Version") }
                return semverObject(version)
            },
            "semverCompare": { args in
                let a = try Arguments("semverCompare", args, count: 2)
                guard let constraint = VersionConstraint(try a.string(0)) else {
                    throw FunctionError("improper constraint: \(try a.string(0))")
                }
                guard let version = SemanticVersion(lenient: try a.string(1)) else { throw FunctionError("Invalid Semantic Version") }
                return .bool(constraint.matches(version))
            },
            "toToml": { args in .string(toml(try Arguments("toToml", args, count: 1)[0])) },
        ]
    }

    private static func trimmedNewline(_ text: String) -> String {
        text.hasSuffix("\n") ? String(text.dropLast()) : text
    }

    private static func rawJSON(_ text: String) -> String {
        text.replacingOccurrences(of: "\\u003c", with: "<").replacingOccurrences(of: "\\u003e", with: ">").replacingOccurrences(
            of: "\\u0026",
            with: "&"
        )
    }

    /// `json.MarshalIndent(v, "", "  ")`.
    private static func prettyJSON(_ value: TemplateValue, level: Int = 0) -> String {
        let pad = String(repeating: "  ", count: level + 1)
        let close = String(repeating: "  ", count: level)
        switch value {
        case .list(let items, _) where !items.isEmpty:
            return "[\n" + items.map { pad + prettyJSON($0, level: level + 1) }.joined(separator: ",\n") + "\n" + close + "]"
        case .map(let box) where !box.storage.isEmpty:
            return "{\n"
                + box.sortedKeys.map { pad + GoJSON.quote($0) + ": " + prettyJSON(box.storage[$0]!, level: level + 1) }.joined(
                    separator: ",\n"
                ) + "\n" + close + "}"
        default:
            return GoJSON.marshal(value)
        }
    }

    private static func toml(_ value: TemplateValue) -> String {
        guard case .map(let box) = value else { return "" }
        var lines: [String] = []
        var tables: [(String, MapBox)] = []
        for key in box.sortedKeys {
            if case .map(let inner) = box.storage[key]! {
                tables.append((key, inner))
            } else {
                lines.append("\(key) = \(GoJSON.marshal(box.storage[key]!))")
            }
        }
        var out = lines.map { $0 + "\n" }.joined()
        for (key, inner) in tables { out += "\n[\(key)]\n" + toml(.map(inner)).split(separator: "\n").map { "  " + $0 + "\n" }.joined() }
        return out
    }

    /// A Masterminds `*semver.Version`: `.Major`, `.Minor`, `.Patch`, `.Prerelease`,
    /// `.Metadata`, `.Original`, printed as its normalised text.
    static func semverObject(_ version: SemanticVersion) -> TemplateValue {
        let normalised =
            "\(version.major).\(version.minor).\(version.patch)"
            + (version.prerelease.isEmpty ? "" : "-" + version.prerelease.joined(separator: "."))
        let methods: [String: ([TemplateValue]) throws -> TemplateValue] = [
            "Major": { _ in .int(Int64(version.major), .int64) },
            "Minor": { _ in .int(Int64(version.minor), .int64) },
            "Patch": { _ in .int(Int64(version.patch), .int64) },
            "Prerelease": { _ in .string(version.prerelease.joined(separator: ".")) },
            "Metadata": { _ in .string(version.original.split(separator: "+", maxSplits: 1).dropFirst().first.map(String.init) ?? "") },
            "Original": { _ in .string(version.original) },
            "String": { _ in .string(normalised) },
        ]
        return .object(GoObject(typeName: "*semver.Version", methods: methods, printed: normalised))
    }
}

/// SHA-1, for Sprig's `sha1sum` (charts hash names with it; nothing here relies on its strength).
enum SHA1 {
    static func hex(_ message: [UInt8]) -> String {
        var h: [UInt32] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0]
        var bytes = message
        let bitLength = UInt64(message.count) * 8
        bytes.append(0x80)
        while bytes.count % 64 != 56 { bytes.append(0) }
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift))) }
        for chunk in stride(from: 0, to: bytes.count, by: 64) {
            var w = [UInt32](repeating: 0, count: 80)
            for i in 0..<16 {
                w[i] = (0..<4).reduce(0) { ($0 << 8) | UInt32(bytes[chunk + i * 4 + $1]) }
            }
            for i in 16..<80 {
                let value = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]
                w[i] = (value << 1) | (value >> 31)
            }
            var (a, b, c, d, e) = (h[0], h[1], h[2], h[3], h[4])
            for i in 0..<80 {
                let (f, k): (UInt32, UInt32)
                switch i {
                case 0..<20: (f, k) = ((b & c) | (~b & d), 0x5A827999)
                case 20..<40: (f, k) = (b ^ c ^ d, 0x6ED9EBA1)
                case 40..<60: (f, k) = ((b & c) | (b & d) | (c & d), 0x8F1BBCDC)
                default: (f, k) = (b ^ c ^ d, 0xCA62C1D6)
                }
                let temp = ((a << 5) | (a >> 27)) &+ f &+ e &+ k &+ w[i]
                (e, d, c, b, a) = (d, c, (b << 30) | (b >> 2), a, temp)
            }
            h[0] = h[0] &+ a
            h[1] = h[1] &+ b
            h[2] = h[2] &+ c
            h[3] = h[3] &+ d
            h[4] = h[4] &+ e
        }
        return h.map { String(format: "%08x", $0) }.joined()
    }
}
