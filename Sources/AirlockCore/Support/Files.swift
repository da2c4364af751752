import BundleIO
import Foundation

/// Writes `bytes` to a hidden sibling and renames it over `path`.
func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws {
    let temporary = partialPath(for: path)
    unlink(temporary)
    let file = try FileDescriptor.create(temporary, mode: mode)
    do {
        try bytes.withUnsafeBytes { try file.writeAll($0) }
        try file.sync()
        try file.close()
        guard rename(temporary, path) == 0 else { throw BundleIOError.io(path: path, operation: "rename into place", errno: errno) }
    } catch {
        unlink(temporary)
        throw error
    }
}
