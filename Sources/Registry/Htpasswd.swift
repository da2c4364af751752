internal import CCrypt
import Foundation
import Hashing

/// Basic-auth users of `airlock serve --htpasswd`: the bcrypt entries `htpasswd -B` writes
/// (`user:$2y$...`), checked with libxcrypt's `crypt_r`. A password that verified once is
/// remembered (by a hash of it, never the password) so that a pull of many blobs pays bcrypt's
/// cost once, not per request.
///
/// `@unchecked Sendable`: `verified` is guarded by `lock`.
public final class Htpasswd: @unchecked Sendable {
    private let entries: [String: String]
    private let lock = NSLock()
    private var verified: Set<String> = []

    public init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RegistryServerError.htpasswd(path: path, detail: "does not exist or is not readable")
        }
        var entries: [String: String] = [:]
        for (number, line) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let text = line.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !text.isEmpty, !text.hasPrefix("#") else { continue }
            guard let colon = text.firstIndex(of: ":"), colon != text.startIndex else {
                throw RegistryServerError.htpasswd(path: path, detail: "line \(number + 1) is not USER:HASH")
            }
            let hash = String(text[text.index(after: colon)...])
            guard ["$2y$", "$2b$", "$2a$"].contains(where: hash.hasPrefix) else {
                throw RegistryServerError.htpasswd(
                    path: path,
                    detail: "line \(number + 1) is not a bcrypt entry (write it with htpasswd -B; MD5, SHA-1 and crypt entries are refused)"
                )
            }
            entries[String(text[..<colon])] = hash
        }
        guard !entries.isEmpty else { throw RegistryServerError.htpasswd(path: path, detail: "holds no user") }
        self.entries = entries
    }

    /// Whether `password` is `user`'s.
    func accepts(user: String, password: String) -> Bool {
        guard let hash = entries[user] else { return false }
        let key = SHA256Hasher.hex(Array("\(user)\u{0}\(password)\u{0}\(hash)".utf8))
        if lock.withLock({ verified.contains(key) }) { return true }
        let data = UnsafeMutablePointer<crypt_data>.allocate(capacity: 1)
        defer { data.deallocate() }
        memset(data, 0, MemoryLayout<crypt_data>.size)
        guard let result = crypt_r(password, hash, data), String(cString: result) == hash else { return false }
        lock.withLock { _ = verified.insert(key) }
        return true
    }

    /// The user of an `Authorization: Basic` header whose password is right, or nil.
    func user(authorization: String?) -> String? {
        guard let authorization, authorization.lowercased().hasPrefix("basic "),
            let decoded = Data(base64Encoded: String(authorization.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
            let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":")
        else { return nil }
        let user = String(text[..<colon])
        return accepts(user: user, password: String(text[text.index(after: colon)...])) ? user : nil
    }
}
