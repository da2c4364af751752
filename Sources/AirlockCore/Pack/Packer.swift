import BundleIO
import Foundation
import Hashing
import OCI
import Registry
import Signing

/// What happens during a pack, for the CLI to render.
public enum PackEvent: Sendable {
    case collecting(kind: PackItemKind, name: String)
    /// A chart is being rendered to find the images it will pull.
    case rendering(chart: String)
    case downloading(blobs: Int, bytes: Int64, cached: Int)
    case downloaded(digest: String, bytes: Int64)
    case writing(entries: Int, bytes: Int64)
    case wrote(path: String)
    /// Something the builder should know that does not stop the pack (a stale Chart.lock, say).
    case warning(String)
}

/// What a pack collects, as its progress names it.
public enum PackItemKind: String, Sendable {
    case image, chart, endpoint, egress, file
}

/// Builds a bundle from an `airlock.yaml`.
public struct Packer: Sendable {
    public struct Options: Sendable {
        public var specPath: String
        /// The bundle to write; default `NAME-VERSION.tar.zst` in the current folder.
        public var output: String?
        public var keys: [PrivateKey]
        public var cacheRoot: String
        public var compressionLevel: Int32 = 3
        /// Used when neither `metadata.created` nor `SOURCE_DATE_EPOCH` fixes the time.
        public var now: Int64
        /// How registries and chart repositories are reached (and `--jobs`).
        public var transport = TransportOptions()
        /// `--include-airlock`: a file (the running binary, or a release archive) carried as
        /// `files/airlock/NAME`, so the first delivery brings its own opener.
        public var includeAirlock: String?
        /// `--platform`: platforms to keep from every multi-platform image without its own `platforms:`.
        public var platforms: [Platform] = []
        /// `--strict`: fail when a chart references an image the bundle does not carry.
        public var strict = false
        /// Whether blobs pulled from registries stay in the cache for later packs (`--no-cache`
        /// turns it off: they then go straight into the bundle, written to disk once).
        public var keepPulledBlobs = true
        /// `--split-size`: write the bundle as parts of this many bytes (`NAME.part001`, …).
        public var partSize: Int64?
        /// `--since`: an earlier bundle (or its detached envelope); layers it carried are left out.
        public var since: String?
        /// `--attest`: sign a delivery attestation for every image and chart (also `attest: true`).
        public var attest = false
        /// `--dry-run`: resolve and plan, pull no layer and write no bundle (manifests and charts
        /// are still fetched: the plan is made from them).
        public var dryRun = false

        public init(specPath: String, output: String?, keys: [PrivateKey], cacheRoot: String, now: Int64) {
            self.specPath = specPath
            self.output = output
            self.keys = keys
            self.cacheRoot = cacheRoot
            self.now = now
        }
    }

    public struct Result: Sendable {
        public let bundlePath: String
        public let detachedPath: String
        public let size: Int64
        public let sha256: String
        /// The files of a split bundle, in order (empty when it is one file).
        public let parts: [BundleWriter.Summary.Part]
        /// Files of an earlier bundle of the same name that were removed (stale parts).
        public let removed: [String]
        public let statement: Statement
        public let signerKeyIDs: [String]
        /// Set by a dry run, which writes nothing (`size` and `sha256` are then empty).
        public var plan: Plan?
    }

    /// What a pack would do, from a dry run.
    public struct Plan: Sendable, Codable {
        /// Entries and their bytes: the bundle is at most this plus framing (compression only shrinks it).
        public var entries: Int
        public var bytes: Int64
        /// Blobs to pull from registries, and how many the cache already holds.
        public var pullBlobs: Int
        public var pullBytes: Int64
        public var cached: Int
        /// With `--split-size`: at most this many parts.
        public var parts: Int?
    }

    public let options: Options
    public let progress: @Sendable (PackEvent) -> Void

    /// The smallest `partSize` a bundle is split into.
    public static let minimumPartSize = BundleWriter.minimumPartSize

    public init(options: Options, progress: @escaping @Sendable (PackEvent) -> Void = { _ in }) {
        self.options = options
        self.progress = progress
    }

    public func pack() async throws -> Result {
        let spec = try BundleSpec.load(path: options.specPath)
        let base = try options.since.map(DeltaBase.load)
        let created = try createdTime(spec)
        let store = try ContentStore(root: options.cacheRoot)
        var contents = PackContents()
        let remote = RegistrySource(store: store, transport: options.transport)
        return try await withShutdown(remote.shutdown) {
            try await pack(spec, created: created, base: base, store: store, remote: remote, contents: &contents)
        }
    }

    /// What a pack decided before writing anything: the signed statement, the entries in order,
    /// and the blobs still to pull (in the order the bundle holds them).
    struct Prepared {
        let statement: Statement
        let entries: [PlannedEntry]
        let pending: [RegistrySource.Fetch]
        let cached: Int
        let pulls: Bool
        let output: String
        var bytes: Int64 { entries.reduce(0) { $0 + $1.size } }
        var pullBytes: Int64 { pending.reduce(0) { $0 + $1.descriptor.size } }
    }

    /// Prepares the bundle, then writes it — or, for a dry run, reports what it would write.
    private func pack(
        _ spec: BundleSpec,
        created: Int64,
        base: DeltaBase?,
        store: ContentStore,
        remote: RegistrySource,
        contents: inout PackContents
    ) async throws -> Result {
        let prepared = try await prepare(spec, created: created, base: base, store: store, remote: remote, contents: &contents)
        warnIfShortOfSpace(bundle: prepared.bytes, output: prepared.output, cache: options.keepPulledBlobs ? prepared.pullBytes : 0)
        if options.dryRun { return dryRun(prepared) }
        return try await write(prepared, store: store, remote: remote, created: created)
    }

    private func prepare(
        _ spec: BundleSpec,
        created: Int64,
        base: DeltaBase?,
        store: ContentStore,
        remote: RegistrySource,
        contents: inout PackContents
    ) async throws -> Prepared {
        let fetches = try await collect(spec, created: created, store: store, remote: remote, into: &contents)
        try describeCharts(in: &contents, store: store)
        if options.attest || spec.attest {
            try DeliveryAttestation.attach(
                to: &contents,
                store: store,
                keys: options.keys,
                bundle: .init(name: spec.metadata.name, version: spec.metadata.version, created: formatRFC3339(created))
            )
        }
        let planned = plan(contents, layout: try layoutFiles(contents, store: store))
        let (entries, left) = base?.split(planned) ?? (planned, [])
        var predicate = BundlePredicate(
            formatVersion: BundleFormat.version,
            name: spec.metadata.name,
            version: spec.metadata.version,
            created: formatRFC3339(created),
            tool: .init(name: "airlock", version: BundleFormat.toolVersion),
            images: contents.images.sorted { $0.name < $1.name },
            charts: contents.charts.sorted { $0.ref < $1.ref },
            endpoints: contents.endpoints.sorted { $0.name < $1.name },
            egress: contents.egress.isEmpty ? nil : contents.egress.sorted { $0.name < $1.name },
            files: contents.files.sorted { $0.path < $1.path }
        )
        predicate.base = base?.predicate(leaving: left)
        let statement = Statement(
            subject: entries.map { Statement.Subject(name: $0.path, sha256: $0.sha256, size: $0.size) },
            predicate: predicate
        )
        // Blobs still to pull download in the order the bundle holds them, while the bundle is
        // written: the writer drains each one as it arrives, so pulling and writing overlap.
        let position = Dictionary(entries.enumerated().map { ($1.digest, $0) }, uniquingKeysWith: min)
        // Blobs left out are not pulled at all.
        let (needed, cached) = remote.pending(fetches.filter { position[$0.descriptor.digest] != nil })
        return Prepared(
            statement: statement,
            entries: entries,
            pending: needed.sorted { (position[$0.descriptor.digest] ?? 0) < (position[$1.descriptor.digest] ?? 0) },
            cached: cached,
            pulls: !fetches.isEmpty,
            output: options.output ?? "\(spec.metadata.name)-\(spec.metadata.version).tar.zst"
        )
    }

    private func dryRun(_ prepared: Prepared) -> Result {
        let plan = Plan(
            entries: prepared.entries.count + 1,
            bytes: prepared.bytes,
            pullBlobs: prepared.pending.count,
            pullBytes: prepared.pullBytes,
            cached: prepared.cached,
            parts: options.partSize.map(BundleWriter.partSize).map {
                Int((Self.upperBound(prepared.bytes, entries: prepared.entries.count) + $0 - 1) / $0)
            }
        )
        return Result(
            bundlePath: prepared.output,
            detachedPath: prepared.output + ".intoto.json",
            size: 0,
            sha256: "",
            parts: [],
            removed: [],
            statement: prepared.statement,
            signerKeyIDs: [],
            plan: plan
        )
    }

    /// Signs the statement and writes the bundle while the blobs still to pull download, then its
    /// detached envelope (a failure there removes the bundle).
    private func write(_ prepared: Prepared, store: ContentStore, remote: RegistrySource, created: Int64) async throws -> Result {
        var envelope = DSSEEnvelope(payload: try prepared.statement.encoded())
        for key in options.keys { try envelope.sign(with: key) }
        if prepared.pulls {
            progress(.downloading(blobs: prepared.pending.count, bytes: prepared.pullBytes, cached: prepared.cached))
        }
        let pulls = Pulls(pending: Set(prepared.pending.map(\.descriptor.digest)))
        let downloads = Task { [pending = prepared.pending, jobs = options.transport.jobs, keep = options.keepPulledBlobs, progress] in
            do {
                try await remote.download(pending, jobs: jobs, keep: keep, progress: progress) { pulls.started($0) }
            } catch {
                pulls.fail(error)
            }
        }
        progress(.writing(entries: prepared.entries.count + 1, bytes: prepared.bytes))
        let summary: BundleWriter.Summary
        do {
            summary = try await onThread { [self, envelope] in
                try write(envelope: envelope, entries: prepared.entries, store: store, to: prepared.output, created: created, pulls: pulls)
            }
        } catch {
            pulls.fail(error)
            downloads.cancel()
            await downloads.value
            throw error
        }
        await downloads.value
        let detached = prepared.output + ".intoto.json"
        do {
            try writeDetachedEnvelope(statement: prepared.statement, bundle: summary, keys: options.keys, to: detached)
        } catch {
            for file in summary.files { unlink(file) }
            throw error
        }
        progress(.wrote(path: prepared.output))
        return Result(
            bundlePath: prepared.output,
            detachedPath: detached,
            size: summary.size,
            sha256: summary.sha256,
            parts: summary.parts,
            removed: summary.removed,
            statement: prepared.statement,
            signerKeyIDs: options.keys.map(\.publicKey.keyID)
        )
    }

    /// The most a bundle of `entries` entries holding `bytes` can take: the bytes (stored entries
    /// add 3 per 128 KiB block), and per entry a tar header with a pax extension and padding, a
    /// frame header and its seek-index line.
    static func upperBound(_ bytes: Int64, entries: Int) -> Int64 {
        bytes + bytes / 32_768 + Int64(entries + 2) * 2_560
    }

    /// Warns when the bundle (at most the size of its entries: compression only shrinks it) and the
    /// blobs about to be cached may not fit. A warning, not a refusal: compressible content can
    /// make the bundle much smaller than this bound.
    private func warnIfShortOfSpace(bundle: Int64, output: String, cache: Int64) {
        guard let forBundle = FreeSpace.available(near: output) else { return }
        var needed = bundle
        if cache > 0, let forCache = FreeSpace.available(near: options.cacheRoot) {
            if forCache.device == forBundle.device {
                needed += cache
            } else if forCache.bytes < cache {
                progress(
                    .warning(
                        """
                        the cache \(forCache.folder) has \(formatBytes(forCache.bytes)) free and may need \(formatBytes(cache)) for \
                        the blobs to pull: free some space, or pack with --no-cache
                        """
                    )
                )
            }
        }
        if forBundle.bytes < needed {
            progress(
                .warning(
                    "\(forBundle.folder) has \(formatBytes(forBundle.bytes)) free; this pack may need up to \(formatBytes(needed))"
                        + (needed > bundle ? " (the bundle and the blobs it caches; --no-cache needs room for the bundle alone)" : "")
                )
            )
        }
    }

    /// `metadata.created`, else `SOURCE_DATE_EPOCH`, else now.
    private func createdTime(_ spec: BundleSpec) throws -> Int64 {
        if let created = spec.metadata.created, let seconds = parseRFC3339(created) { return seconds }
        return try sourceDateEpoch() ?? options.now
    }
}
