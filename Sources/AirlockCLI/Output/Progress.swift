import AirlockCore
import Foundation

/// Where progress goes: one live status line on a terminal, plain lines otherwise, JSON lines (one
/// event each) with `--output json`, or nothing with `--quiet`. Always stderr; results stay on stdout.
struct ProgressOutput {
    enum Mode { case live, plain, json, none }

    let mode: Mode
    private var lastDraw = Date.distantPast

    init(quiet: Bool, output: OutputFormat) {
        if quiet {
            mode = .none
        } else if output == .json {
            mode = .json
        } else {
            mode = isatty(STDERR_FILENO) == 1 ? .live : .plain
        }
    }

    /// Writes an event: its fields as JSON, its plain line, or (live) redraws `live()` at most ten
    /// times a second unless `force`.
    mutating func emit(_ fields: [String: Any], plain: String?, force: Bool = false, live: () -> String) {
        switch mode {
        case .none:
            return
        case .plain:
            if let plain { note(plain) }
        case .json:
            if let data = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]) {
                FileHandle.standardError.write(data + Data("\n".utf8))
            }
        case .live:
            let now = Date()
            guard force || now.timeIntervalSince(lastDraw) > 0.1 else { return }
            lastDraw = now
            FileHandle.standardError.write(Data("\r\u{1B}[2K\(live())".utf8))
        }
    }

    /// Ends the live line.
    func finish() {
        if mode == .live { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

/// `1.2 MiB/s` since `start`.
func rate(_ bytes: Int64, since start: Date) -> String {
    formatBytes(Int64(Double(bytes) / max(Date().timeIntervalSince(start), 0.001))) + "/s"
}

/// What the progress renderers share: their output, and the lock under which events from any
/// thread are rendered. `@unchecked Sendable`: `output` and each subclass's counters are only
/// touched under `lock`.
class ProgressRenderer: @unchecked Sendable {
    let lock = NSLock()
    var output: ProgressOutput

    init(quiet: Bool, output: OutputFormat) {
        self.output = ProgressOutput(quiet: quiet, output: output)
    }

    /// Ends the live line.
    func finish() {
        lock.withLock { output.finish() }
    }
}

/// Renders push progress.
final class PushProgress: ProgressRenderer, @unchecked Sendable {
    private let started = Date()
    private var blobsTotal = 0
    private var bytesTotal: Int64 = 0
    private var blobsDone = 0
    private var bytesDone: Int64 = 0

    func handle(_ event: PushEvent) {
        lock.withLock {
            switch event {
            case .planned(let images, let blobs, let bytes):
                (blobsTotal, bytesTotal) = (blobs, bytes)
                emit(
                    ["event": "planned", "images": images, "blobs": blobs, "bytes": bytes],
                    plain: "pushing \(images) images/charts: \(blobs) blobs, \(formatBytes(bytes))"
                )
            case .blob(let digest, let outcome, let bytes):
                if outcome != .mounted { blobsDone += 1 }
                bytesDone += bytes
                emit(
                    ["event": "blob", "digest": digest, "outcome": outcome.rawValue, "bytes": bytes],
                    plain: "  blob \(digest.prefix(19)): \(outcome.rawValue)\(bytes > 0 ? " (\(formatBytes(bytes)))" : "")"
                )
            case .manifest(let reference, let pushed):
                emit(
                    ["event": "manifest", "reference": reference, "pushed": pushed],
                    plain: "  manifest \(reference): \(pushed ? "pushed" : "present")"
                )
            case .warning:
                break  // the command's WarningLog prints warnings, even with -q
            }
        }
    }

    private func emit(_ fields: [String: Any], plain: String) {
        output.emit(fields, plain: plain, force: blobsDone == blobsTotal) {
            """
            blobs \(blobsDone)/\(blobsTotal), \(formatBytes(bytesDone)) of \(formatBytes(bytesTotal)) sent, \
            \(rate(bytesDone, since: started))
            """
        }
    }
}

/// Renders pack progress (images and charts collected, blobs pulled, entries written) and keeps
/// the pull figures for the summary.
final class PackProgress: ProgressRenderer, @unchecked Sendable {
    struct PullSummary: Encodable {
        var blobs = 0
        var bytes: Int64 = 0
        var cached = 0
        var seconds = 0.0
    }

    private var pullStarted: Date?
    private var collected = 0
    private var summary = PullSummary()
    private var blobsDone = 0
    private var bytesDone: Int64 = 0

    func handle(_ event: PackEvent) {
        lock.withLock {
            switch event {
            case .rendering(let chart):
                output.emit(["event": "rendering", "chart": chart], plain: "rendering chart \(chart)") { "rendering chart \(chart)" }
            case .collecting(let item, let name):
                let kind = item.rawValue
                collected += 1
                output.emit(["event": "collecting", "kind": kind, "name": name], plain: "adding \(kind) \(name)") {
                    "resolving \(kind) \(name)"
                }
            case .downloading(let blobs, let bytes, let cached):
                pullStarted = Date()
                summary.blobs = blobs
                summary.bytes = bytes
                summary.cached = cached
                guard blobs > 0 || cached > 0 else { return }
                output.emit(
                    ["event": "pulling", "blobs": blobs, "bytes": bytes, "cached": cached],
                    plain: "pulling \(blobs) blobs, \(formatBytes(bytes))\(cached > 0 ? " (\(cached) already cached)" : "")",
                    force: true
                ) {
                    "pulling \(blobs) blobs, \(formatBytes(bytes))"
                }
            case .downloaded(let digest, let bytes):
                blobsDone += 1
                bytesDone += bytes
                output.emit(
                    ["event": "pulled", "digest": digest, "bytes": bytes],
                    plain: "  pulled \(digest.prefix(19)) (\(formatBytes(bytes)))",
                    force: blobsDone == summary.blobs
                ) {
                    """
                    \(collected) images/charts; blobs \(blobsDone)/\(summary.blobs), \(formatBytes(bytesDone)) of \
                    \(formatBytes(summary.bytes)), 
                    """
                        + rate(bytesDone, since: pullStarted ?? Date())
                }
                if blobsDone == summary.blobs, let pullStarted { summary.seconds = Date().timeIntervalSince(pullStarted) }
            case .writing(let entries, let bytes):
                output.emit(
                    ["event": "writing", "entries": entries, "bytes": bytes],
                    plain: "writing \(entries) entries, \(formatBytes(bytes))",
                    force: true
                ) { "writing \(entries) entries, \(formatBytes(bytes))" }
            case .wrote(let path):
                output.emit(["event": "wrote", "path": path], plain: nil, force: true) { "wrote \(path)" }
            case .warning:
                break
            }
        }
    }

    /// What was pulled (nil when nothing came from a registry or repository).
    var pull: PullSummary? {
        lock.withLock { summary.blobs > 0 || summary.cached > 0 ? summary : nil }
    }
}
