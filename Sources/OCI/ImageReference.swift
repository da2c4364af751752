/// A validated image reference: `[registry/]repository[:tag][@digest]`, normalised the way
/// Docker does it (`docker.io` and `library/` for single-component names).
public struct ImageReference: Sendable, Hashable, CustomStringConvertible {
    public let registry: String
    public let repository: String
    public let tag: String?
    public let digest: Digest?

    public static let dockerHub = "docker.io"

    public init(_ text: String) throws {
        guard !text.isEmpty else { throw OCIError.invalidReference(text, reason: "empty") }
        guard text.utf8.count <= 512 else { throw OCIError.invalidReference(text, reason: "too long") }
        var rest = Substring(text)
        var digest: Digest?
        if let at = rest.firstIndex(of: "@") {
            do { digest = try Digest(String(rest[rest.index(after: at)...])) } catch {
                throw OCIError.invalidReference(text, reason: "the part after @ is not a sha256 digest")
            }
            rest = rest[..<at]
        }
        var tag: String?
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("/") {
            tag = String(rest[rest.index(after: colon)...])
            rest = rest[..<colon]
        }
        var components = rest.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        var registry = Self.dockerHub
        if components.count > 1, let first = components.first,
            first.contains(".") || first.contains(":") || first == "localhost"
        {
            registry = first
            components.removeFirst()
        }
        if registry == "index.docker.io" || registry == "registry-1.docker.io" { registry = Self.dockerHub }
        if registry == Self.dockerHub && components.count == 1 { components.insert("library", at: 0) }
        let repository = components.joined(separator: "/")
        guard !repository.isEmpty, components.allSatisfy(Self.isValidComponent) else {
            throw OCIError.invalidReference(
                text,
                reason: "repository must be lowercase letters, digits and separators (. _ __ -) between slashes"
            )
        }
        guard repository.utf8.count + registry.utf8.count < 256 else {
            throw OCIError.invalidReference(text, reason: "name longer than 255 characters")
        }
        if let tag, !Self.isValidTag(tag) {
            throw OCIError.invalidReference(text, reason: "tag must match [A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
        }
        guard tag != nil || digest != nil else {
            throw OCIError.invalidReference(text, reason: "give a tag or a digest (airlock never assumes :latest)")
        }
        guard Self.isValidRegistry(registry) else {
            throw OCIError.invalidReference(text, reason: "registry host \"\(registry)\" is not a host[:port]")
        }
        self.registry = registry
        self.repository = repository
        self.tag = tag
        self.digest = digest
    }

    /// `registry/repository`.
    public var name: String { "\(registry)/\(repository)" }

    public var description: String {
        var text = name
        if let tag { text += ":\(tag)" }
        if let digest { text += "@\(digest)" }
        return text
    }

    static func isValidComponent(_ component: String) -> Bool {
        let bytes = Array(component.utf8)
        guard let first = bytes.first, let last = bytes.last, isAlnum(first), isAlnum(last) else { return false }
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if isAlnum(byte) { index += 1; continue }
            // separator: "." | "_" | "__" | "-"+
            if byte == UInt8(ascii: ".") {
                index += 1
            } else if byte == UInt8(ascii: "_") {
                index += (index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "_")) ? 2 : 1
            } else if byte == UInt8(ascii: "-") {
                while index < bytes.count && bytes[index] == UInt8(ascii: "-") { index += 1 }
            } else {
                return false
            }
            guard index < bytes.count, isAlnum(bytes[index]) else { return false }
        }
        return true
    }

    static func isValidTag(_ tag: String) -> Bool {
        let bytes = Array(tag.utf8)
        guard let first = bytes.first, bytes.count <= 128 else { return false }
        guard isAlnum(first) || isUpper(first) || first == UInt8(ascii: "_") else { return false }
        return bytes.allSatisfy {
            isAlnum($0) || isUpper($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-")
        }
    }

    static func isValidRegistry(_ host: String) -> Bool {
        let bytes = Array(host.utf8)
        return !bytes.isEmpty
            && bytes.allSatisfy {
                isAlnum($0) || isUpper($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ":")
                    || $0 == UInt8(ascii: "[") || $0 == UInt8(ascii: "]")
            }
    }
}

private func isAlnum(_ byte: UInt8) -> Bool {
    (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x7a)
}

private func isUpper(_ byte: UInt8) -> Bool { byte >= 0x41 && byte <= 0x5a }
