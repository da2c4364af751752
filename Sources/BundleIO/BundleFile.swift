import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A bundle as its bytes: one file, or the parts of a split bundle (`NAME.part001`, `NAME.part002`,
/// …) read as if they were concatenated. Offsets are the bundle's own (the seek index's); a read
/// never crosses a part boundary, so callers loop as they would at any short read.
///
/// `@unchecked Sendable`: nothing changes after `open`, and the descriptors are only read with
/// `pread`, which takes its own offset, so readers on several threads can share one.
public final class BundleFile: PositionalReader, @unchecked Sendable {
    /// One part: its file and where its bytes sit in the bundle.
    public struct Part: Sendable {
        public let path: String
        /// 1 for `.part001`; 0 for a bundle that is not split.
        public let number: Int
        public let start: Int64
        public let size: Int64
    }

    /// The bundle's name: the file, or for a split bundle the name its parts share.
    public let path: String
    public let parts: [Part]
    public let size: Int64
    private let files: [FileDescriptor]

    public var isSplit: Bool { parts.first?.number != 0 }

    /// Opens `path` as a bundle: the file itself, or the parts of a split bundle when `path` names
    /// one of them (`NAME.part002`) or names a bundle that exists only as parts. Every part from
    /// `.part001` on must be there; a gap is named.
    public static func open(_ path: String) throws -> BundleFile {
        if let (base, _) = splitPartName(path) { return try openParts(base) }
        var info = stat()
        if stat(path, &info) == 0 || !FileManager.default.fileExists(atPath: path + partSuffix(1)) {
            return try single(path)
        }
        return try openParts(path)
    }

    /// Whether `path` names a split bundle whose parts are there (the bundle's name, or a part's).
    public static func existsAsParts(_ path: String) -> Bool {
        let base = splitPartName(path)?.base ?? path
        return FileManager.default.fileExists(atPath: base + partSuffix(1))
    }

    /// Opens the one file at `path`, whatever its name.
    public static func single(_ path: String) throws -> BundleFile {
        let file = try FileDescriptor.openForReading(path)
        let size = try file.size()
        return BundleFile(path: path, parts: [Part(path: path, number: 0, start: 0, size: size)], files: [file])
    }

    private static func openParts(_ base: String) throws -> BundleFile {
        let numbers = try partNumbers(of: base)
        guard !numbers.isEmpty else {
            throw BundleIOError.io(path: base + partSuffix(1), operation: "open", errno: ENOENT)
        }
        if let gap = (1...numbers.count).first(where: { !numbers.contains($0) }) {
            let found = numbers.map { partSuffix($0) }.joined(separator: ", ")
            throw BundleIOError.parts("\(base + partSuffix(gap)) is missing (found \(found)): copy every part into one folder")
        }
        var parts: [Part] = []
        var files: [FileDescriptor] = []
        var start: Int64 = 0
        for number in 1...numbers.count {
            let file = try FileDescriptor.openForReading(base + partSuffix(number))
            let size = try file.size()
            parts.append(Part(path: file.path, number: number, start: start, size: size))
            files.append(file)
            start += size
        }
        return BundleFile(path: base, parts: parts, files: files)
    }

    private init(path: String, parts: [Part], files: [FileDescriptor]) {
        self.path = path
        self.parts = parts
        self.files = files
        size = parts.reduce(0) { $0 + $1.size }
    }

    /// `.part001`: the suffix of part `number`. Three digits, so a shell's `NAME.part*` lists the
    /// parts in order for `cat`.
    public static func partSuffix(_ number: Int) -> String {
        ".part" + String(repeating: "0", count: max(0, 3 - String(number).count)) + String(number)
    }

    /// The most parts a bundle is split into (three digits).
    public static let maximumParts = 999

    /// `(NAME, 2)` for `NAME.part002`; nil for a name that is not a part's.
    public static func splitPartName(_ path: String) -> (base: String, number: Int)? {
        guard let range = path.range(of: ".part", options: .backwards) else { return nil }
        let digits = path[range.upperBound...]
        guard digits.count == 3, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber),
            let number = Int(digits), number >= 1
        else { return nil }
        return (String(path[..<range.lowerBound]), number)
    }

    /// The numbers of the parts of `base` present in its folder.
    public static func partNumbers(of base: String) throws -> [Int] {
        let url = URL(fileURLWithPath: base)
        let folder = url.deletingLastPathComponent().path
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        let prefix = url.lastPathComponent
        return names.compactMap { name -> Int? in
            guard let (stem, number) = splitPartName(name), stem == prefix else { return nil }
            return number
        }.sorted()
    }

    /// The part holding bundle offset `offset` (the last part at or past the end).
    func partIndex(at offset: Int64) -> Int {
        var low = 0
        var high = parts.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if parts[middle].start <= offset { low = middle } else { high = middle - 1 }
        }
        return low
    }

    /// Reads up to `buffer.count` bytes at bundle offset `offset`, never past the end of the part
    /// that holds it; returns how many were read (0 at the end of the bundle).
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        guard offset < size, buffer.count > 0 else { return 0 }
        let index = partIndex(at: offset)
        let part = parts[index]
        let want = Int(min(Int64(buffer.count), part.start + part.size - offset))
        return try files[index].read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<want]), at: offset - part.start)
    }

    /// What each part's file is now (see ``FileIdentity``).
    public func identity() throws -> [FileIdentity] { try files.map { try $0.identity() } }

    /// Reads the bundle front to back through mapped windows (see ``MappedWindows``), part after part.
    public func sequentialReader() -> BundleWindows { BundleWindows(self) }

    /// The file of part `index` (for streaming one part alone).
    public func file(ofPart index: Int) -> FileDescriptor { files[index] }
}

/// ``MappedWindows`` over each part of a ``BundleFile`` in turn: stretches never span two parts.
public final class BundleWindows {
    private let bundle: BundleFile
    private var part = 0
    private var windows: MappedWindows?

    init(_ bundle: BundleFile) {
        self.bundle = bundle
    }

    /// The next stretch of the bundle, or an empty buffer at its end. The previous stretch is
    /// invalid once this is called again.
    public func next() throws -> UnsafeRawBufferPointer {
        while part < bundle.parts.count {
            let current = windows ?? MappedWindows(bundle.file(ofPart: part))
            windows = current
            let stretch = try current.next()
            if !stretch.isEmpty { return stretch }
            windows = nil
            part += 1
        }
        return UnsafeRawBufferPointer(start: nil, count: 0)
    }
}
