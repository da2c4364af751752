import Foundation
import OCI

/// Fixed names and versions of bundle format v1.
public enum BundleFormat {
    /// The only format version this airlock reads and writes.
    public static let version = 1
    /// The in-toto predicate type of a bundle statement.
    public static let predicateType = "https://airlock.dev/bundle/v1"
    /// The first entry of every bundle: the DSSE envelope.
    public static let statementPath = "statement.intoto.json"
    /// Where the OCI image layout sits inside the bundle.
    public static let layoutPrefix = "oci/"
    public static let endpointsPrefix = "endpoints/"
    public static let filesPrefix = "files/"
    public static let egressPrefix = "egress/"
    /// Where the vendors' install-values templates sit (one per chart that has one).
    public static let installPrefix = "install/"
    /// Largest statement envelope accepted when reading.
    public static let statementLimit: Int64 = 64 << 20
    /// Annotation on `index.json` descriptors saying what a manifest is (``LayoutKind``).
    public static let kindAnnotation = "dev.airlock.kind"
    /// The tool's version, recorded in every bundle.
    public static let toolVersion = "0.1.0"

    /// The entry path of the layout blob with `digest` (`sha256:<hex>` → `oci/blobs/sha256/<hex>`).
    static func blobEntry(_ digest: Digest) -> String {
        layoutPrefix + digest.layoutPath
    }

    /// The digest a layout blob's entry path names (`oci/blobs/sha256/<hex>` → `sha256:<hex>`); nil
    /// for any other entry.
    static func blobDigest(entry: String) -> Digest? {
        let prefix = layoutPrefix + "blobs/sha256/"
        guard entry.hasPrefix(prefix) else { return nil }
        return try? Digest(sha256Hex: String(entry.dropFirst(prefix.count)))
    }
}

/// What a tagged manifest of the bundle's layout is (its `dev.airlock.kind` annotation).
public enum LayoutKind: String, Sendable, Codable {
    case image
    case chart
    /// A signature, attestation or SBOM that refers to an image.
    case referrer
    /// A delivery attestation of a chart (pushed into the chart's repository).
    case chartReferrer = "chart-referrer"
}

/// An in-toto Statement v1 whose subjects are every other entry of the bundle.
public struct Statement: Codable, Sendable, Equatable {
    public static let type = "https://in-toto.io/Statement/v1"

    public struct Subject: Codable, Sendable, Equatable {
        public struct Annotations: Codable, Sendable, Equatable {
            /// The entry's size in bytes: a reader refuses anything larger before reading it.
            public var size: Int64
            /// In a split bundle's detached envelope: how many parts the bundle has (on the bundle
            /// and on each part), which one this is (from 1), and where its bytes start.
            public var parts: Int?
            public var part: Int?
            public var offset: Int64?
        }

        public var name: String
        public var digest: [String: String]
        public var annotations: Annotations?

        public init(name: String, sha256: String, size: Int64?) {
            self.name = name
            self.digest = ["sha256": sha256]
            self.annotations = size.map { Annotations(size: $0) }
        }

        public var sha256: String? { digest["sha256"] }
    }

    public var _type: String = Statement.type
    public var subject: [Subject]
    public var predicateType: String = BundleFormat.predicateType
    public var predicate: BundlePredicate

    public init(subject: [Subject], predicate: BundlePredicate) {
        self.subject = subject
        self.predicate = predicate
    }

    /// Subjects by entry path (the first one wins; verification refuses duplicates).
    public var subjectsByName: [String: Subject] {
        Dictionary(subject.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The bytes that are signed: JSON with sorted keys, no insignificant white space.
    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self))
    }
}

/// What the bundle holds, for people and for `inspect`.
public struct BundlePredicate: Codable, Sendable, Equatable {
    public struct Tool: Codable, Sendable, Equatable {
        public var name: String
        public var version: String
    }

    public struct Image: Codable, Sendable, Equatable {
        /// The reference the image carries (`registry/repo:tag`).
        public var name: String
        /// Where it came from, as written in airlock.yaml.
        public var source: String
        public var digest: Digest
        public var mediaType: MediaType
        public var size: Int64
        public var platforms: [String]?
        /// When a platform subset was taken: the digest of the source index it came from.
        public var sourceDigest: Digest?
        /// Signatures, attestations and SBOMs carried along (`referrers: true`).
        public var referrers: [Referrer]?
        /// The attestation manifests buildx attached inside the index (SBOM, provenance), each with
        /// the platform manifest it attests; a subset keeps those of the kept platforms.
        public var attestationManifests: [AttestationManifest]?
    }

    public struct AttestationManifest: Codable, Sendable, Equatable {
        public var digest: Digest
        /// The platform manifest it attests (`vnd.docker.reference.digest`).
        public var attests: Digest
    }

    /// An artifact that refers to an image: found through the OCI 1.1 referrers API, its tag
    /// fallback (`sha256-<hex>` index), or cosign's `sha256-<hex>.sig|.att|.sbom` tags.
    public struct Referrer: Codable, Sendable, Equatable {
        /// The manifest it refers to (the image's, or one of its platform manifests).
        public var subject: Digest
        public var digest: Digest
        public var mediaType: MediaType
        public var artifactType: MediaType?
        /// Its ref name in the bundle's layout: by tag for the tag schemes, by digest otherwise.
        public var ref: String
        /// `referrers-api`, `referrers-tag` or `cosign-tag` when carried from the source;
        /// `airlock-attest` for a delivery attestation pack made (`--attest`).
        public var via: String
    }

    public struct Chart: Codable, Sendable, Equatable {
        public var name: String
        public var version: String
        public var source: String
        /// Digest of the Helm OCI manifest in the layout.
        public var digest: Digest
        /// Digest of the chart `.tgz`.
        public var chartDigest: Digest
        /// The ref name in the layout, `charts/<name>:<tag>`.
        public var ref: String
        /// The subcharts vendored inside the chart's `.tgz` (under `charts/`), recursively.
        public var dependencies: [ChartDependency]?
        /// The images the chart needs as it will be installed: those its rendered objects name,
        /// those it declares, and (informational) those its values name that are not rendered.
        public var images: [ChartImage]?
        /// How the chart was rendered to find its images.
        public var rendered: RenderSettings?
        /// Its delivery attestations (`pack --attest`).
        public var referrers: [Referrer]?
        /// The entry holding the vendor's install-values template (`installValues:`), which
        /// `airlock values` fills with the site's facts.
        public var installValues: String?
    }

    public struct ChartDependency: Codable, Sendable, Equatable {
        public var name: String
        public var version: String
        public var alias: String?
        /// The `repository:` its parent's Chart.yaml gives (a URL, `oci://`, `file://`, or none).
        public var repository: String?
        public var condition: String?
        /// sha256 of the vendored `.tgz`; absent for a subchart kept as a folder.
        public var digest: String?
        /// False when the parent's default values switch it off (condition or tags).
        public var enabledByDefault: Bool
        public var dependencies: [ChartDependency]?
    }

    public struct ChartImage: Codable, Sendable, Equatable {
        /// Where in the chart tree: `umbrella/subchart`.
        public var chart: String
        public var ref: String
        /// The template that rendered it (`templates/deployment.yaml`), the annotation that
        /// declares it, or the values key that names it.
        public var from: String
        public var status: Status
        public var found: Found?
        /// Written by airlock before 0.9 for images of subcharts switched off; no longer written.
        public var disabledBy: String?

        /// Whether the bundle carries the image the chart names.
        public enum Status: String, Codable, Sendable {
            case inBundle = "in-bundle"
            case missing
            /// The bundle has the tag with another digest.
            case digestDiffers = "digest-differs"
            /// The bundle has a platform subset of the pinned index, whose digest differs.
            case platformSubset = "platform-subset"
            /// Named by the values only (with `found: values`).
            case notRendered = "not-rendered"
            /// Written by airlock before 0.9 for images of subcharts switched off.
            case disabled
        }

        /// How the image was found.
        public enum Found: String, Codable, Sendable {
            /// An object the install renders names it.
            case rendered
            /// The chart's `artifacthub.io/images` or `images` annotation, not rendered: an operator
            /// may launch it at run time.
            case declared
            /// The chart's values name it but this install does not render it: informational.
            case values
        }

        /// Whether the install would fail to find it after push.
        public var isProblem: Bool { found != .values && [.missing, .digestDiffers, .platformSubset].contains(status) }
    }

    /// How pack rendered a chart to find its images: the install's settings and the digests of
    /// the values files it used.
    public struct RenderSettings: Codable, Sendable, Equatable {
        public var releaseName: String
        public var namespace: String
        public var kubeVersion: String
        public var values: [ValuesFile]?
        /// `set:` entries as written (path and YAML value).
        public var set: [String: String]?
        /// How many templates rendered (partials left out).
        public var templates: Int

        public struct ValuesFile: Codable, Sendable, Equatable {
            public var path: String
            public var sha256: String
        }
    }

    public struct Endpoint: Codable, Sendable, Equatable {
        public var name: String
        public var provider: String
        public var host: String
        public var path: String
        public var caFile: String?
    }

    /// A `kind: Egress` document the bundle carries, by its name.
    public struct EgressDocument: Codable, Sendable, Equatable {
        public var name: String
        public var path: String
    }

    public struct File: Codable, Sendable, Equatable {
        public var path: String
        public var source: String
        public var size: Int64
    }

    public var formatVersion: Int
    public var name: String
    public var version: String
    public var created: String
    public var tool: Tool
    public var images: [Image]
    public var charts: [Chart]
    public var endpoints: [Endpoint]
    /// The Egress documents (absent when there are none).
    public var egress: [EgressDocument]?
    public var files: [File]
    /// Set on a delta bundle (`pack --since`): the bundle it builds on, and the blobs it leaves out
    /// because that one carried them. They must already be in the registry it is pushed to.
    public var base: Base?

    /// The bundle a delta builds on, or the registry inventory (`airlock inventory`) it was packed
    /// against.
    public struct Base: Codable, Sendable, Equatable {
        /// The earlier bundle's name and version; for an inventory, the registry and `inventory`.
        public var name: String
        public var version: String
        public var created: String
        /// Set when the delta was packed against an inventory: the registry (HOST[:PORT][/PREFIX])
        /// it was taken of, which must still hold the blobs left out.
        public var registry: String?
        /// The blobs left out, by digest.
        public var blobs: [Blob]

        public struct Blob: Codable, Sendable, Equatable {
            public var digest: Digest
            public var size: Int64
            /// For an inventory: a repository the registry held it in, where push mounts it from.
            public var repository: String?
        }

        /// Digest → size of the blobs left out.
        public var sizes: [Digest: Int64] {
            Dictionary(blobs.map { ($0.digest, $0.size) }, uniquingKeysWith: { first, _ in first })
        }

        /// `platform 1.4.1`, or `the inventory of registry.corp:5000/site (2026-12-01T09:00:00Z)`.
        public var title: String { registry.map { "the inventory of \($0) (\(created))" } ?? "\(name) \(version)" }
    }
}
