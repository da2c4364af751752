import Foundation

/// Sprig's functions whose result differs on every render: random strings, the clock,
/// certificates and password hashes. airlock renders charts to learn which images they pull, so
/// these give values of the right shape (lengths, alphabets, PEM framing, `user:$2a$...`) but
/// the certificates and hashes are not usable ones; a chart that parses a certificate it
/// generated fails here as it would not in Helm.
enum SprigUnstable {
    static var all: [String: TemplateFunction] {
        [
            "randAlphaNum": random("randAlphaNum", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"),
            "randAlpha": random("randAlpha", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"),
            "randNumeric": random("randNumeric", "0123456789"),
            "randAscii": random("randAscii", (32...126).map { String(UnicodeScalar(UInt8($0))) }.joined()),
            "randBytes": { args in
                let count = try Arguments("randBytes", args, count: 1).int(0)
                return .string(Data((0..<max(0, count)).map { _ in UInt8.random(in: 0...255) }).base64EncodedString())
            },
            "now": { _ in time(Date()) },
            "unixEpoch": { args in
                let a = try Arguments("unixEpoch", args, count: 1)
                return .string(String(Int(dateOf(a[0]).timeIntervalSince1970)))
            },
            "date": { args in
                let a = try Arguments("date", args, count: 2)
                return .string(format(dateOf(a[1]), layout: try a.string(0), zone: TimeZone.current))
            },
            "dateInZone": { args in
                let a = try Arguments("dateInZone", args, count: 3)
                return .string(
                    format(
                        dateOf(a[1]),
                        layout: try a.string(0),
                        zone: TimeZone(identifier: try a.string(2)) ?? TimeZone(identifier: "UTC")!
                    )
                )
            },
            "htmlDate": { args in
                .string(format(dateOf(try Arguments("htmlDate", args, count: 1)[0]), layout: "2006-01-02", zone: TimeZone.current))
            },
            "dateModify": { args in
                let a = try Arguments("dateModify", args, count: 2)
                return time(dateOf(a[1]).addingTimeInterval(parseDuration(try a.string(0)) ?? 0))
            },
            "toDate": { args in
                let a = try Arguments("toDate", args, count: 2)
                let formatter = DateFormatter()
                formatter.dateFormat = "yyyy-MM-dd"
                return time(formatter.date(from: try a.string(1)) ?? Date(timeIntervalSince1970: 0))
            },
            "ago": { _ in .string("0s") },
            "duration": { args in .string("\(castInt(try Arguments("duration", args, count: 1)[0]))s") },
            "genPrivateKey": { _ in .string(pem("RSA PRIVATE KEY", bytes: 1190)) },
            "genCA": { args in
                _ = try Arguments("genCA", args, count: 2)
                return certificate()
            },
            "genCAWithKey": { _ in certificate() },
            "genSelfSignedCert": { args in
                _ = try Arguments("genSelfSignedCert", args, count: 4)
                return certificate()
            },
            "genSelfSignedCertWithKey": { _ in certificate() },
            "genSignedCert": { args in
                _ = try Arguments("genSignedCert", args, count: 5)
                return certificate()
            },
            "genSignedCertWithKey": { _ in certificate() },
            "buildCustomCert": { args in
                let a = try Arguments("buildCustomCert", args, count: 2)
                let cert = String(decoding: Data(base64Encoded: try a.string(0)) ?? Data(), as: UTF8.self)
                let key = String(decoding: Data(base64Encoded: try a.string(1)) ?? Data(), as: UTF8.self)
                return certificate(cert: cert, key: key)
            },
            "htpasswd": { args in
                let a = try Arguments("htpasswd", args, count: 2)
                return .string(
                    try a.string(0) + ":$2a$10$"
                        + randomString(53, alphabet: "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
                )
            },
            "derivePassword": { args in
                _ = try Arguments("derivePassword", args, count: 5)
                return .string(randomString(20, alphabet: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"))
            },
            "encryptAES": { args in
                _ = try Arguments("encryptAES", args, count: 2)
                return .string(Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString())
            },
            "decryptAES": { _ in .string("") },
        ]
    }

    private static func random(_ name: String, _ alphabet: String) -> TemplateFunction {
        { args in .string(randomString(try Arguments(name, args, count: 1).int(0), alphabet: alphabet)) }
    }

    private static func randomString(_ count: Int, alphabet: String) -> String {
        let characters = Array(alphabet)
        return String((0..<max(0, count)).map { _ in characters.randomElement()! })
    }

    private static func pem(_ label: String, bytes: Int) -> String {
        let body = Data((0..<bytes).map { _ in UInt8.random(in: 0...255) }).base64EncodedString(options: [
            .lineLength64Characters, .endLineWithLineFeed,
        ])
        return "-----BEGIN \(label)-----\n\(body)\n-----END \(label)-----\n"
    }

    private static func certificate(cert: String? = nil, key: String? = nil) -> TemplateValue {
        let certificate = cert ?? pem("CERTIFICATE", bytes: 800)
        let privateKey = key ?? pem("RSA PRIVATE KEY", bytes: 1190)
        return .object(
            GoObject(
                typeName: "sprig.certificate",
                kind: "struct",
                fields: ["Cert": .string(certificate), "Key": .string(privateKey)],
                jsonFields: [("Cert", .string(certificate)), ("Key", .string(privateKey))]
            )
        )
    }

    private static func time(_ date: Date) -> TemplateValue {
        let printed = format(date, layout: "2006-01-02 15:04:05.999999999 -0700 MST", zone: TimeZone.current)
        return .object(
            GoObject(
                typeName: "time.Time",
                kind: "struct",
                methods: [
                    "Unix": { _ in .int64(Int64(date.timeIntervalSince1970)) },
                    "Year": { _ in .integer(Calendar(identifier: .gregorian).component(.year, from: date)) },
                    "Format": { args in
                        .string(format(date, layout: try Arguments("Format", args, count: 1).string(0), zone: TimeZone.current))
                    },
                    "UTC": { _ in time(date) },
                ],
                underlying: nil,
                printed: printed
            )
        )
    }

    private static func dateOf(_ value: TemplateValue) -> Date {
        switch value {
        case .int(let seconds, _): return Date(timeIntervalSince1970: TimeInterval(seconds))
        case .float(let seconds): return Date(timeIntervalSince1970: seconds)
        default: return Date()
        }
    }

    /// Go's reference-time layouts (`2006-01-02T15:04:05Z07:00`) in Foundation's terms.
    static func format(_ date: Date, layout: String, zone: TimeZone) -> String {
        let replacements: [(String, String)] = [
            ("2006", "yyyy"), ("January", "MMMM"), ("Jan", "MMM"), ("Monday", "EEEE"), ("Mon", "EEE"), ("MST", "zzz"),
            ("Z07:00", "xxxxx"), ("-07:00", "xxx"), ("-0700", "xx"), ("01", "MM"), ("02", "dd"), ("15", "HH"), ("03", "hh"),
            ("04", "mm"), ("05", "ss"), ("06", "yy"), ("PM", "a"), (".999999999", ".SSSSSSSSS"), (".000", ".SSS"),
        ]
        var pattern = ""
        var rest = Substring(layout)
        outer: while !rest.isEmpty {
            for (go, icu) in replacements where rest.hasPrefix(go) {
                pattern += icu
                rest = rest.dropFirst(go.count)
                continue outer
            }
            let character = rest.removeFirst()
            pattern += character.isLetter ? "'\(character)'" : String(character)
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = zone
        formatter.dateFormat = pattern
        return formatter.string(from: date)
    }

    private static func parseDuration(_ text: String) -> TimeInterval? {
        let units: [Character: Double] = ["h": 3600, "m": 60, "s": 1]
        var total = 0.0
        var number = ""
        var sign = 1.0
        for character in text {
            if character == "-" { sign = -1; continue }
            if character.isNumber || character == "." { number.append(character); continue }
            guard let unit = units[character], let value = Double(number) else { return nil }
            total += value * unit
            number = ""
        }
        return sign * total
    }
}
