import Foundation
import OCI

/// Why the layers a delta bundle leaves out cannot be had, worded once for every command that
/// meets it (unpack, serve, push).
public enum DeltaError: Error, Sendable, CustomStringConvertible {
    /// Who needs the left-out layers.
    public enum Reader: Sendable {
        case unpack, serve
    }

    /// Unpacked or served without the bundle (or folder) the delta builds on.
    case needsBase(BundlePredicate.Base, by: Reader)
    /// `--base` does not hold one of the left-out layers (`bundle`: it is a bundle, else a folder).
    case baseLacksLayer(base: String, digest: Digest, title: String, bundle: Bool)
    /// A left-out layer in `--base` is not what the delta's statement signs.
    case baseLayerDiffers(base: String, digest: Digest)
    /// Push: the target registry has a left-out layer in none of the repositories that could
    /// lend it.
    case notInRegistry(owner: String, digest: String, base: BundlePredicate.Base, listedIn: String?, target: String)

    public var description: String {
        switch self {
        case .needsBase(let base, .unpack):
            if let registry = base.registry {
                return """
                    this delta bundle was packed against \(base.title) and leaves out \(base.blobs.count) layer(s) that registry \
                    holds: push it into \(registry), or give --base with a folder unpacked from bundles that carried them
                    """
            }
            return """
                this delta bundle builds on \(base.title) and leaves out \(base.blobs.count) layer(s): give --base with the bundle \
                \(base.title) or the folder it was unpacked into, or push it into a registry that holds \(base.title)
                """
        case .needsBase(let base, .serve):
            if let registry = base.registry {
                return """
                    this delta bundle was packed against \(base.title) and leaves out \(base.blobs.count) layer(s), which serve \
                    cannot answer for: push it into \(registry), which holds them
                    """
            }
            return """
                this delta bundle builds on \(base.title) and leaves out \(base.blobs.count) layer(s), which serve cannot answer for: \
                give --base with the bundle \(base.title), or serve the folder unpack --base made, or push it into a registry that \
                holds \(base.title)
                """
        case .baseLacksLayer(let base, let digest, let title, true):
            return "--base \(base) does not carry \(digest) (a layer of \(title)): is it that bundle?"
        case .baseLacksLayer(let base, let digest, let title, false):
            return "--base \(base) has no \(digest.layoutPath) (a layer of \(title)): is it the folder \(title) was unpacked into?"
        case .baseLayerDiffers(let base, let digest):
            return "--base \(base): \(digest.layoutPath) does not match the digest the delta bundle signs: tampered or corrupted"
        case .notInRegistry(let owner, let digest, let base, let listed, let target):
            if let registry = base.registry {
                return """
                    \(owner): layer \(digest) is left out of this delta bundle (\(base.title) listed \
                    it\(listed.map { " in \($0)" } ?? "")) and \(target) does not have it: push into \(registry), or pack \
                    again against a fresh inventory or without --since; nothing was pushed
                    """
            }
            return """
                \(owner): layer \(digest) is left out of this delta bundle (it builds on \(base.title)) and \
                \(target) does not have it: push \(base.title) there first, give --base with that bundle, or pack without \
                --since; nothing was pushed
                """
        }
    }
}
