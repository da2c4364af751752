import BundleIO
import Foundation

/// Unpacks a bundle into a folder while verifying it: entries go into a hidden sibling folder
/// that is renamed into place only when every check passed, and removed otherwise.
public struct Unpacker {
    public let bundle: String
    public let output: String
    public let policy: SignaturePolicy

    public init(bundle: String, output: String, policy: SignaturePolicy) {
        self.bundle = bundle
        self.output = output
        self.policy = policy
    }

    public func unpack() throws -> VerificationReport {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        var replaceEmpty = false
        if manager.fileExists(atPath: output, isDirectory: &isDirectory) {
            guard isDirectory.boolValue, (try manager.contentsOfDirectory(atPath: output)).isEmpty else {
                throw AirlockError.input("\(output) already exists; unpack into a new folder")
            }
            replaceEmpty = true
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
            try writeChartArchives(report, into: staging)
        } catch {
            report.verified = false
            report.failure = "\(error)"
            return report
        }
        if replaceEmpty { try manager.removeItem(atPath: output) }
        guard rename(staging, output) == 0 else {
            throw AirlockError.input("cannot move the unpacked bundle to \(output): \(String(cString: strerror(errno)))")
        }
        keep = true
        return report
    }

    /// `charts/<name>-<version>.tgz`, copied from the verified layout blobs.
    private func writeChartArchives(_ report: VerificationReport, into root: String) throws {
        guard !report.charts.isEmpty else { return }
        try FileManager.default.createDirectory(atPath: "\(root)/charts", withIntermediateDirectories: false)
        for chart in report.charts {
            let blob = "\(root)/oci/blobs/" + chart.chartDigest.replacingOccurrences(of: ":", with: "/")
            let name = "\(chart.name)-\(chart.version).tgz"
            guard (try? EntryPath(name)) != nil, !name.contains("/") else { throw AirlockError.verification("chart name \(name) is unsafe") }
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
