/// Invalid OCI values and documents.
public enum OCIError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidDigest(String)
    case invalidReference(String, reason: String)
    case invalidRepository(String)
    case invalidPlatform(String)
    case invalidDocument(String)

    public var description: String {
        switch self {
        case .invalidDigest(let text):
            return "invalid digest \"\(text)\": expected sha256:<64 lowercase hex> or sha512:<128 lowercase hex>"
        case .invalidReference(let text, let reason):
            return "invalid image reference \"\(text)\": \(reason)"
        case .invalidRepository(let text):
            return "invalid repository \"\(text)\": lowercase letters, digits and separators (. _ __ -) between slashes"
        case .invalidPlatform(let text):
            return "invalid platform \"\(text)\": expected os/arch[/variant], e.g. linux/amd64"
        case .invalidDocument(let why):
            return "invalid OCI document: \(why)"
        }
    }
}
