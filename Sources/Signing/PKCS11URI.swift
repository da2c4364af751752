import Foundation

/// An RFC 7512 PKCS#11 URI naming a key in a token: `pkcs11:token=LABEL;object=LABEL` or
/// `;id=%01%02`, optionally `?module-path=/usr/lib/.../module.so`. A PIN in the URI
/// (`pin-value`) is refused: it would sit in argv, in shell history and in process listings.
public struct PKCS11URI: Sendable, Equatable, CustomStringConvertible {
    public var token: String?
    public var object: String?
    public var id: [UInt8]?
    public var modulePath: String?
    /// The URI as given, for messages (it holds no secret).
    public let text: String

    public static func isURI(_ text: String) -> Bool { text.hasPrefix("pkcs11:") }

    public init(_ text: String) throws {
        guard Self.isURI(text) else { throw SigningError.pkcs11("\"\(text.prefix(40))\" is not a pkcs11: URI") }
        self.text = text
        let body = text.dropFirst("pkcs11:".count)
        let parts = body.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        for attribute in parts[0].split(separator: ";") {
            let (name, value) = try Self.attribute(attribute)
            switch name {
            case "token": token = String(decoding: value, as: UTF8.self)
            case "object": object = String(decoding: value, as: UTF8.self)
            case "id": id = value
            case "type", "manufacturer", "model", "serial", "library-description", "library-manufacturer", "library-version":
                continue
            case "pin-value", "pin-source":
                throw SigningError.pkcs11("a PIN in the URI is refused; give it with --pin-file or AIRLOCK_PKCS11_PIN")
            default:
                throw SigningError.pkcs11("unknown attribute \"\(name)\" in \(text) (known: token, object, id, type)")
            }
        }
        if parts.count > 1 {
            for attribute in parts[1].split(separator: "&") {
                let (name, value) = try Self.attribute(attribute)
                switch name {
                case "module-path": modulePath = String(decoding: value, as: UTF8.self)
                case "pin-value", "pin-source":
                    throw SigningError.pkcs11("a PIN in the URI is refused; give it with --pin-file or AIRLOCK_PKCS11_PIN")
                default: continue
                }
            }
        }
        guard object != nil || id != nil else {
            throw SigningError.pkcs11("\(text) names no key: add ;object=LABEL or ;id=%HEX")
        }
    }

    public var description: String { text }

    /// `name=value` with the value percent-decoded.
    private static func attribute(_ text: Substring) throws -> (String, [UInt8]) {
        guard let equals = text.firstIndex(of: "=") else { throw SigningError.pkcs11("\"\(text)\" in a pkcs11: URI is not name=value") }
        let name = String(text[..<equals])
        var bytes: [UInt8] = []
        var utf8 = Array(text[text.index(after: equals)...].utf8)[...]
        while let byte = utf8.popFirst() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard utf8.count >= 2, let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16) else {
                throw SigningError.pkcs11("bad percent-encoding in the \(name) attribute of a pkcs11: URI")
            }
            bytes.append(value)
            utf8 = utf8.dropFirst(2)
        }
        return (name, bytes)
    }
}
