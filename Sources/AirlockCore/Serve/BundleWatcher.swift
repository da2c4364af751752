import Foundation
import Registry
import Signing

/// How serve opens each bundle: the trust policy, names and cosign requirements.
public struct ServeOpening: Sendable {
    public var policy: SignaturePolicy
    public var prefix: String
    public var rules: PushRules
    public var cosign: CosignTrust
    public var attestations: [String]
    /// `--base`: the bundle a delta given on the command line builds on.
    public var base: String?

    public init(policy: SignaturePolicy, prefix: String, rules: PushRules, cosign: CosignTrust, attestations: [String], base: String?) {
        self.policy = policy
        self.prefix = prefix
        self.rules = rules
        self.cosign = cosign
        self.attestations = attestations
        self.base = base
    }
}

extension ServedLibrary {
    /// Opens the bundle at `path` (signature and manifests checked, as for one bundle) and serves
    /// it. A delta finds its base among the bundles served (same name, version and creation
    /// time), else in `--base`. Returns the lines worth logging.
    @discardableResult
    public func open(_ path: String, with opening: ServeOpening) async throws -> [String] {
        func open(base: String?) async throws -> ServedBundle {
            try await ServedBundle.open(
                path,
                policy: opening.policy,
                prefix: opening.prefix,
                rules: opening.rules,
                base: base,
                cosign: opening.cosign,
                attestations: opening.attestations
            )
        }
        let bundle: ServedBundle
        do {
            bundle = try await open(base: nil)
        } catch DeltaError.needsBase(let base, let reader) {
            let served = all.last { $0.name == base.name && $0.version == base.version && $0.created == base.created }
            guard let basePath = served?.path ?? opening.base else { throw DeltaError.needsBase(base, by: reader) }
            bundle = try await open(base: basePath)
        }
        return ["serving \(bundle.label)\(bundle.unsigned ? " (UNSIGNED, allowed by --allow-unsigned)" : "")"] + add(bundle)
    }
}

/// `serve --watch DIR`: bundles dropped into the folder are served once they are whole (the same
/// size on two looks in a row), each signature checked first; one that fails is refused, logged,
/// and not tried again until it changes. The rest keep being served.
public final class BundleWatcher: @unchecked Sendable {
    // @unchecked: used by the one task that runs it.
    private let folder: String
    private let library: ServedLibrary
    private let opening: ServeOpening
    private let log: @Sendable (String) -> Void
    /// Size and modification time when last seen, for files not served yet.
    private var seen: [String: (Int64, Date)] = [:]
    private var refused: [String: (Int64, Date)] = [:]

    public init(folder: String, library: ServedLibrary, opening: ServeOpening, log: @escaping @Sendable (String) -> Void) {
        self.folder = folder
        self.library = library
        self.opening = opening
        self.log = log
    }

    /// One look at the folder. `settled`: files present now count as whole (at start).
    public func scan(settled: Bool = false) async {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".tar.zst") }.sorted()
        for name in names {
            let path = "\(folder)/\(name)"
            guard !library.holds(path: path),
                let attributes = try? FileManager.default.attributesOfItem(atPath: path),
                let size = (attributes[.size] as? NSNumber)?.int64Value, let modified = attributes[.modificationDate] as? Date
            else { continue }
            if let before = refused[path], before == (size, modified) { continue }
            let before = seen[path]
            seen[path] = (size, modified)
            guard settled || before.map({ $0 == (size, modified) }) == true else { continue }
            do {
                for line in try await library.open(path, with: opening) { log(line) }
                seen[path] = nil
                refused[path] = nil
            } catch {
                refused[path] = (size, modified)
                log("refused \(name): \(error)")
            }
        }
    }

    /// Looks every `seconds` until cancelled.
    public func run(every seconds: Double = 2) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(seconds))
            if Task.isCancelled { return }
            await scan()
        }
    }
}
