/// Random access to one entry of a bundle through the seek index: decompresses only that entry's
/// frame. The caller checks the bytes against the signed digest.
public final class FrameReader {
    public let file: BundleFile
    public let index: SeekIndex

    /// Opens the bundle at `path` (or its parts: see ``BundleFile/open(_:)``).
    public convenience init(path: String) throws {
        try self.init(file: BundleFile.open(path))
    }

    public init(file: BundleFile) throws {
        self.file = file
        index = try SeekIndex.read(from: file)
    }

    /// The index entry for `path`, if the index lists it.
    public func entry(_ path: String) -> SeekIndex.Entry? {
        index.entries.first { $0.path == path }
    }

    /// Streams the data of `entry` to `body`.
    public func read(_ entry: SeekIndex.Entry, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let cursor = try FrameCursor(file: file, entry: entry)
        while let chunk = try cursor.next() {
            try chunk.withUnsafeBytes { try body($0) }
        }
    }
}
