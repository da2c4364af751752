import AirlockCore
import Foundation

/// Renders push progress: one live status line on a terminal, plain lines otherwise, and JSON
/// lines (one event each) with `--output json`. Always on stderr; results stay on stdout.
///
/// `@unchecked Sendable`: its counters are guarded by `lock`.
final class PushProgress: @unchecked Sendable {
    enum Mode { case live, plain, json, none }

    private let lock = NSLock()
    private let mode: Mode
    private let started = Date()
    private var blobsTotal = 0
    private var bytesTotal: Int64 = 0
    private var blobsDone = 0
    private var bytesDone: Int64 = 0
    private var lastDraw = Date.distantPast

    init(quiet: Bool, output: OutputFormat) {
        if output == .json {
            mode = .json
        } else if quiet {
            mode = .none
        } else {
            mode = isatty(STDERR_FILENO) == 1 ? .live : .plain
        }
    }

    func handle(_ event: PushEvent) {
        lock.withLock {
            switch event {
            case .planned(let images, let blobs, let bytes):
                (blobsTotal, bytesTotal) = (blobs, bytes)
                emit(["event": "planned", "images": images, "blobs": blobs, "bytes": bytes],
                     plain: "pushing \(images) images/charts: \(blobs) blobs, \(formatBytes(bytes))")
            case .blob(let digest, let outcome, let bytes):
                if outcome != .mounted { blobsDone += 1 }
                bytesDone += bytes
                emit(["event": "blob", "digest": digest, "outcome": outcome.rawValue, "bytes": bytes],
                     plain: "  blob \(digest.prefix(19)): \(outcome.rawValue)\(bytes > 0 ? " (\(formatBytes(bytes)))" : "")")
            case .manifest(let reference, let pushed):
                emit(["event": "manifest", "reference": reference, "pushed": pushed],
                     plain: "  manifest \(reference): \(pushed ? "pushed" : "present")")
            }
        }
    }

    /// Ends the live line.
    func finish() {
        lock.withLock {
            if mode == .live { FileHandle.standardError.write(Data("\n".utf8)) }
        }
    }

    private func emit(_ fields: [String: Any], plain: String) {
        switch mode {
        case .none:
            return
        case .plain:
            note(plain)
        case .json:
            if let data = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]) {
                FileHandle.standardError.write(data + Data("\n".utf8))
            }
        case .live:
            let now = Date()
            guard now.timeIntervalSince(lastDraw) > 0.1 || blobsDone == blobsTotal else { return }
            lastDraw = now
            let elapsed = max(now.timeIntervalSince(started), 0.001)
            let rate = formatBytes(Int64(Double(bytesDone) / elapsed))
            let line = "\r\u{1B}[2Kblobs \(blobsDone)/\(blobsTotal), \(formatBytes(bytesDone)) of \(formatBytes(bytesTotal)) sent, \(rate)/s"
            FileHandle.standardError.write(Data(line.utf8))
        }
    }
}
