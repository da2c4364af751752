import BundleIO
import Foundation
import Hashing
import OCI

/// Unpacks a bundle into a folder while verifying it: entries go into a hidden sibling folder
/// that is renamed into place only when every check passed, and removed otherwise. A delta bundle
/// needs `base`, the folder the bundle it builds on was unpacked into: the layers it leaves out are
/// copied from there, each checked against the digest the delta's statement signs, so the result
/// is a complete layout.
public struct Unpacker {
    public let bundle: String
    public let output: String
    public let policy: SignaturePolicy
    public let base: String?

    public init(bundle: String, output: String, policy: SignaturePolicy, base: String? = nil) {
        self.bundle = bundle
        self.output = output
        self.policy = policy
        self.base = base
    }

    public func unpack() throws -> VerificationReport {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        var replaceEmpty = false
        if manager.fileExists(atPath: output, isDirectory: &isDirectory) {
            guard isDirectory.boolValue, (try manager.contentsOfDirectory(atPath: output)).isEmpty else {
                throw ReadError.outputExists(path: output)
            }
            replaceEmpty = true
        }
        // Said before anything is read or written (the statement is read unverified here, only to
        // plan; the pass below verifies it): a delta bundle without --base, too little disk.
        if let statement = try? Inspector.readStatement(try BundleFile.open(bundle)).1 {
            if base == nil, let leftOut = statement.predicate.base {
                throw DeltaError.needsBase(leftOut, by: .unpack)
            }
            let entries = statement.subject.reduce(Int64(0)) { $0 + ($1.annotations?.size ?? 0) }
            let charts = statement.predicate.charts.reduce(Int64(0)) { total, chart in
                total + (statement.subjectsByName[BundleFormat.blobEntry(chart.chartDigest)]?.annotations?.size ?? 0)
            }
            let leftOut = statement.predicate.base?.blobs.reduce(Int64(0)) { $0 + $1.size } ?? 0
            try FreeSpace.require(
                entries + charts + leftOut,
                for: "unpacking \(statement.predicate.name) \(statement.predicate.version)",
                at: output
            )
        }
        let url = URL(fileURLWithPath: output)
        let staging = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).airlock-unpack-\(getpid())").path
        try? manager.removeItem(atPath: staging)
        try manager.createDirectory(atPath: staging, withIntermediateDirectories: true)
        var keep = false
        defer { if !keep { try? manager.removeItem(atPath: staging) } }

        let writer = FolderWriter(root: staging)
        var report = try Verifier(path: bundle, policy: policy).run(receiver: writer)
        guard report.verified else { return report }
        do {
            if let leftOut = report.base { try copyLeftOut(leftOut, into: staging) }
            try writeChartArchives(report, into: staging)
        } catch {
            report.verified = false
            report.failure = "\(error)"
            return report
        }
        if replaceEmpty { try manager.removeItem(atPath: output) }
        guard rename(staging, output) == 0 else {
            throw AirlockError.io("cannot move the unpacked bundle to \(output): \(String(cString: strerror(errno)))")
        }
        keep = true
        return report
    }

    /// The layers a delta bundle leaves out, from the base — the earlier bundle (its signature
    /// checked by the same policy, each layer read through its seek index) or the folder it was
    /// unpacked into — each checked against the digest the delta lists while copied.
    private func copyLeftOut(_ leftOut: BundlePredicate.Base, into root: String) throws {
        guard let base else {
            throw DeltaError.needsBase(leftOut, by: .unpack)
        }
        var isDirectory: ObjCBool = false
        let earlier =
            FileManager.default.fileExists(atPath: base, isDirectory: &isDirectory) && isDirectory.boolValue
            ? nil : try BundleRandomAccess(path: base, policy: policy)
        for blob in leftOut.blobs {
            let digest = blob.digest
            let entry = BundleFormat.blobEntry(digest)
            let (source, destination) = ("\(base)/\(entry)", "\(root)/\(entry)")
            if let earlier {
                guard earlier.statement.subjectsByName[entry]?.annotations?.size == blob.size else {
                    throw DeltaError.baseLacksLayer(base: base, digest: digest, title: leftOut.title, bundle: true)
                }
                try earlier.extract(entry, to: destination)
                continue
            }
            guard FileManager.default.fileExists(atPath: source) else {
                throw DeltaError.baseLacksLayer(base: base, digest: digest, title: leftOut.title, bundle: false)
            }
            let input = try FileDescriptor.openForReading(source)
            let output = try FileDescriptor.create(destination)
            let hasher = SHA256Hasher()
            var size: Int64 = 0
            try input.forEachChunk { chunk in
                hasher.update(chunk)
                size += Int64(chunk.count)
                try output.writeAll(chunk)
            }
            try output.close()
            guard size == blob.size, hasher.finalizeHex() == digest.encoded else {
                throw DeltaError.baseLayerDiffers(base: base, digest: digest)
            }
        }
    }

    /// `charts/<name>-<version>.tgz`, copied from the verified layout blobs.
    private func writeChartArchives(_ report: VerificationReport, into root: String) throws {
        guard !report.charts.isEmpty else { return }
        try FileManager.default.createDirectory(atPath: "\(root)/charts", withIntermediateDirectories: false)
        for chart in report.charts {
            let blob = "\(root)/" + BundleFormat.blobEntry(chart.chartDigest)
            let name = "\(chart.name)-\(chart.version).tgz"
            guard (try? EntryPath(name)) != nil, !name.contains("/") else {
                throw ReadError.unsafeChartName(name)
            }
            try FileManager.default.copyItem(atPath: blob, toPath: "\(root)/charts/\(name)")
        }
    }
}

/// Writes entries under a root folder. Paths are validated ``EntryPath``s; files are created
/// exclusively, so nothing outside the fresh root can be reached.
final class FolderWriter: EntryReceiver {
    let root: String
    private var current: FileDescriptor?

    init(root: String) { self.root = root }

    func begin(_ path: EntryPath, size: Int64) throws {
        let full = "\(root)/\(path.value)"
        let parent = URL(fileURLWithPath: full).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        current = try FileDescriptor.create(full)
    }

    func write(_ chunk: UnsafeRawBufferPointer) throws {
        try current?.writeAll(chunk)
    }

    func commit() throws {
        try current?.close()
        current = nil
    }
}
