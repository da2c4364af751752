import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The file or files a bundle is written to: one file, or parts of `partSize` bytes each
/// (`NAME.part001`, `NAME.part002`, …; the last may be shorter) whose concatenation is the bundle.
/// Each is written to a hidden sibling (``partialPath(for:)``) and only ``commit()`` renames them
/// into place; ``discard()`` removes them.
///
/// Writes come from one queue at a time (the background writer's). Under direct I/O they are whole
/// pages until the last; part sizes are whole pages too, so every part starts page-aligned.
final class BundleOutput {
    let destination: String
    /// Bytes per part, or nil for a bundle in one file.
    let partSize: Int64?
    /// Whether the files were opened for direct I/O (see ``FileDescriptor/createForDirectWrites(_:mode:)``).
    let direct: Bool
    private var current: FileDescriptor
    private var currentWritten: Int64 = 0
    private var directIO: Bool
    private var writtenBack: Int64 = 0
    private var temporaries: [String] = []

    static let writebackStride: Int64 = 32 << 20

    init(destination: String, partSize: Int64?) throws {
        precondition(partSize.map { $0 > 0 && $0 % Int64(OutputBuffer.alignment) == 0 } ?? true, "parts are whole pages")
        self.destination = destination
        self.partSize = partSize
        let first = partialPath(for: Self.finalPath(destination, part: partSize == nil ? 0 : 1))
        unlink(first)
        let (file, direct) = try FileDescriptor.createForDirectWrites(first)
        current = file
        self.direct = direct
        directIO = direct
        temporaries = [first]
    }

    /// The final name of part `part` (0: the bundle is not split).
    static func finalPath(_ destination: String, part: Int) -> String {
        part == 0 ? destination : destination + BundleFile.partSuffix(part)
    }

    /// The files as they will be named once committed.
    var finalPaths: [String] {
        partSize == nil ? [destination] : temporaries.indices.map { Self.finalPath(destination, part: $0 + 1) }
    }

    /// Appends `bytes`, starting a new part whenever the current one is full. A failure names the
    /// file as it would have been called (the hidden one is removed by ``discard()``).
    func write(_ bytes: UnsafeRawBufferPointer, last: Bool) throws {
        do {
            try append(bytes, last: last)
        } catch BundleIOError.io(_, let operation, let code) {
            throw BundleIOError.io(path: finalPaths.last ?? destination, operation: operation, errno: code)
        }
    }

    private func append(_ bytes: UnsafeRawBufferPointer, last: Bool) throws {
        var rest = bytes[...]
        while !rest.isEmpty {
            if let partSize, currentWritten == partSize { try startNextPart() }
            let room = partSize.map { Int(min(Int64(rest.count), $0 - currentWritten)) } ?? rest.count
            try writeToCurrent(UnsafeRawBufferPointer(rebasing: rest.prefix(room)), last: last && room == rest.count)
            rest = rest.dropFirst(room)
        }
    }

    private func startNextPart() throws {
        guard temporaries.count < BundleFile.maximumParts else {
            throw BundleIOError.parts(
                "the bundle needs more than \(BundleFile.maximumParts) parts of \(partSize ?? 0) bytes: choose a larger --split-size"
            )
        }
        try current.sync()
        try current.close()
        let next = partialPath(for: Self.finalPath(destination, part: temporaries.count + 1))
        unlink(next)
        temporaries.append(next)
        if direct {
            let (file, stillDirect) = try FileDescriptor.createForDirectWrites(next)
            (current, directIO) = (file, stillDirect)
        } else {
            current = try FileDescriptor.create(next)
        }
        currentWritten = 0
        writtenBack = 0
    }

    private func writeToCurrent(_ bytes: UnsafeRawBufferPointer, last: Bool) throws {
        if directIO && (last || bytes.count % OutputBuffer.alignment != 0) {
            try current.endDirectWrites()
            directIO = false
        }
        do {
            try current.writeAll(bytes)
        } catch BundleIOError.io(_, _, EINVAL) where directIO {
            try current.endDirectWrites()
            directIO = false
            let done = Int(try current.position() - currentWritten)  // a short direct write may have come first
            try current.writeAll(UnsafeRawBufferPointer(rebasing: bytes[done...]))
        }
        currentWritten += Int64(bytes.count)
        if !directIO && currentWritten - writtenBack >= Self.writebackStride {
            current.startWriteback(from: writtenBack, count: currentWritten - writtenBack)
            writtenBack = currentWritten
        }
    }

    /// Syncs and closes the last file.
    func close() throws {
        try current.sync()
        try current.close()
    }

    /// Renames every file into place, then removes what a previous bundle of the same name left
    /// that would now mislead a reader: parts past the new last one, the other form (a single file
    /// when this one is split, parts when it is not). Returns the paths removed.
    @discardableResult
    func commit() throws -> [String] {
        let finals = finalPaths
        for (done, (temporary, final)) in zip(temporaries, finals).enumerated() where rename(temporary, final) != 0 {
            let code = errno
            for renamed in finals.prefix(done) { unlink(renamed) }
            discard()
            throw BundleIOError.io(path: final, operation: "rename into place", errno: code)
        }
        temporaries = []
        var stale = (try BundleFile.partNumbers(of: destination))
            .filter { partSize == nil || $0 > finals.count }
            .map { Self.finalPath(destination, part: $0) }
        if partSize != nil, FileManager.default.fileExists(atPath: destination) { stale.append(destination) }
        for path in stale { unlink(path) }
        return stale
    }

    /// Removes every file written so far.
    func discard() {
        try? current.close()
        for path in temporaries { unlink(path) }
        temporaries = []
    }
}
