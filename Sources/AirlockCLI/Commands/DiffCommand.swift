import AirlockCore
import ArgumentParser
import Foundation
import Signing

struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Show what changed between two bundles: images, charts, endpoints, files, and new, shared and dropped blobs.",
        discussion: """
            Each side may be a bundle, one of its parts, or its detached .intoto.json envelope; only the statements are read. \
            With --key (or --signer-root) both signatures are checked first (exit 1 if either fails); without, the statements are NOT \
            verified and the output says so. "new" blobs are what a delta bundle (pack --since OLD) would carry. \
            Exit 0 whether or not they differ (--output json has "identical").
            """
    )

    @Argument(help: "The earlier bundle.") var old: String
    @Argument(help: "The later bundle.") var new: String
    @OptionGroup var trust: TrustOptions
    @OptionGroup var outputOptions: OutputOptions

    struct Result: Encodable {
        let diff: BundleDiff
        let identical: Bool
    }

    func run() throws {
        // Without a key or a CA, nothing is verified (and the output says so).
        let policy: SignaturePolicy? = trust.key.isEmpty && trust.signerRoot.isEmpty && !trust.allowUnsigned ? nil : try trust.policy()
        let diff = try BundleDiff.compare(old: old, new: new, policy: policy)
        try outputOptions.emit(Result(diff: diff, identical: diff.identical)) {
            var text =
                diff.verified
                ? "both statements verified with the given key(s)\n"
                : "NOT VERIFIED: the statements were read without checking signatures; give --key to check them\n"
            text += "\(diff.old.name) \(diff.old.version) (\(diff.old.created)) → "
            text += "\(diff.new.name) \(diff.new.version) (\(diff.new.created))\n"
            let marks = ["added": "+", "removed": "-", "changed": "~"]
            for change in diff.changes {
                text += "\(marks[change.change] ?? "?") \(change.kind) \(change.name)"
                switch change.change {
                case "changed": text += "  \(change.old ?? "?") → \(change.new ?? "?")\n"
                case "added": text += "  \(change.new ?? "?")\n"
                default: text += "\n"
                }
            }
            if diff.changes.isEmpty { text += "no image, chart, endpoint or file changed\n" }
            text +=
                """
                blobs: \(diff.newBlobs.blobs) new (\(formatBytes(diff.newBlobs.bytes))), \(diff.sharedBlobs.blobs) shared \
                (\(formatBytes(diff.sharedBlobs.bytes))), 
                """
                + "\(diff.droppedBlobs.blobs) dropped (\(formatBytes(diff.droppedBlobs.bytes)))"
                + (diff.newBlobs.blobs > 0 && diff.sharedBlobs.blobs > 0 ? "; a delta (pack --since \(old)) carries the new ones\n" : "\n")
            return text
        }
    }
}
