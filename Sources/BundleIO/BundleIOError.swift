/// Failures while reading or writing the bytes of a bundle.
public enum BundleIOError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A system call failed.
    case io(path: String, operation: String, errno: Int32)
    /// libarchive failed; `detail` is its own message.
    case archive(operation: String, detail: String)
    /// libzstd failed; `detail` is its own message.
    case zstd(operation: String, detail: String)
    /// The file is not a zstd-compressed tar.
    case notABundle(String)
    /// The seek index at the end of the file is missing or does not describe the file.
    case badSeekIndex(String)
    /// An entry's data did not have the size its header promised.
    case sizeMismatch(path: String, expected: Int64, actual: Int64)
    /// The parts of a split bundle are not all there.
    case parts(String)

    public var description: String {
        switch self {
        case .io(let path, let operation, let code):
            return "\(operation) \(path): \(String(cString: strerror(code)))"
        case .archive(let operation, let detail):
            return "\(operation): \(detail)"
        case .zstd(let operation, let detail):
            return "zstd \(operation): \(detail)"
        case .notABundle(let why):
            return "not an airlock bundle: \(why)"
        case .badSeekIndex(let why):
            return "seek index: \(why)"
        case .sizeMismatch(let path, let expected, let actual):
            return "\(path): expected \(expected) bytes, got \(actual)"
        case .parts(let why):
            return "split bundle: \(why)"
        }
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// libarchive's file type bits (its AE_IF* macros are casts Swift cannot import).
enum FileTypeBits {
    static let regular: UInt32 = 0o100000
    static let directory: UInt32 = 0o040000
    static let symlink: UInt32 = 0o120000
    static let characterDevice: UInt32 = 0o020000
    static let blockDevice: UInt32 = 0o060000
    static let fifo: UInt32 = 0o010000
    static let socket: UInt32 = 0o140000
}
