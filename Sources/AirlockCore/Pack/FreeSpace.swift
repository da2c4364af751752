import Foundation

/// Room on the file system a path is (or will be) written to, checked before long work starts, so
/// that an unpack or a pack does not fill the disk an hour in.
enum FreeSpace {
    /// Bytes an unprivileged writer may still use on the file system of `path`'s nearest existing
    /// folder, and that file system's id; nil when it cannot be told.
    static func available(near path: String) -> (bytes: Int64, device: UInt64, folder: String)? {
        var folder = URL(fileURLWithPath: path).standardizedFileURL
        var isDirectory: ObjCBool = false
        while !(FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory) && isDirectory.boolValue) {
            guard folder.path != "/" else { return nil }
            folder = folder.deletingLastPathComponent()
        }
        var info = statvfs()
        var status = stat()
        guard statvfs(folder.path, &info) == 0, stat(folder.path, &status) == 0 else { return nil }
        return (Int64(info.f_bavail) * Int64(info.f_frsize), UInt64(status.st_dev), folder.path)
    }

    /// Throws, saying what is needed and what is free, when `bytes` do not fit beside `path`.
    static func require(_ bytes: Int64, for what: String, at path: String) throws {
        guard let free = available(near: path), free.bytes < bytes else { return }
        throw PackError.notEnoughSpace(what: what, needed: bytes, folder: free.folder, free: free.bytes)
    }
}
