import Foundation
import OCI
import Signing

/// Per-image and per-chart provenance a cluster can enforce (`pack --attest`, or `attest: true`):
/// for each image and chart, an in-toto statement whose subject is its manifest digest and whose
/// predicate (type ``predicateType``) names the delivery — the bundle's name, version and created
/// time, the artifact's name and its source as written in `airlock.yaml` — signed with the
/// bundle's key(s) as a DSSE envelope, and attached the two ways cosign attaches attestations:
///
/// - cosign 2's form: an OCI image manifest tagged `sha256-<hex>.att` beside the image, whose layer
///   is the envelope (`application/vnd.dsse.envelope.v1+json`, annotated with its `predicateType`).
///   An `.att` manifest the image already carries (`referrers: true`) is extended, as `cosign
///   attest` extends it: its layers stay, this envelope is added.
/// - cosign 3's form: an OCI 1.1 referrer (`subject` = the image) whose layer is a Sigstore bundle
///   (`application/vnd.dev.sigstore.bundle.v0.3+json`) holding the same envelope; push lists it in
///   the referrers tag schema's index where the registry has no referrers API.
///
/// Both are ordinary entries of the layout, so the bundle's statement signs them, push and serve
/// carry them like any referrer, and `verify --cosign-key --require-attestation` reads them. The
/// binding to the bundle runs from the statement to the attestation: the statement (which the
/// import ledger keeps) names each envelope's digest, which is the `.att` layer's digest in the
/// registry; an attestation cannot name the digest of the statement that names it.
public enum DeliveryAttestation {
    public static let predicateType = "https://airlock.dev/attestations/delivery/v1"
    /// How the bundle's statement records the referrers pack made (`Referrer.via`).
    static let via = "airlock-attest"

    /// What one delivery attestation states.
    public struct Predicate: Codable, Sendable, Equatable {
        public struct Bundle: Codable, Sendable, Equatable {
            public var name: String
            public var version: String
            public var created: String
        }

        public var bundle: Bundle
        public var kind: Kind
        /// The name it travelled under (`registry/repo:tag`, or the chart's name and version).
        public var name: String
        /// Where it came from, as written in `airlock.yaml`.
        public var source: String

        public enum Kind: String, Codable, Sendable {
            case image, chart
        }
    }

    struct Statement: Codable {
        struct Subject: Codable {
            var name: String
            var digest: [String: String]
        }

        var type = "https://in-toto.io/Statement/v1"
        var subject: [Subject]
        var predicateType: String
        var predicate: Predicate

        enum CodingKeys: String, CodingKey {
            case type = "_type"
            case subject, predicateType, predicate
        }
    }

    /// Signs one statement per image and chart of `contents` with `keys` and adds both attached
    /// forms to the layout, recording them among the image's (or chart's) referrers.
    static func attach(
        to contents: inout PackContents,
        store: ContentStore,
        keys: [PrivateKey],
        bundle: Predicate.Bundle
    ) throws {
        guard !keys.isEmpty else {
            throw PackError.attestWithoutKey
        }
        for index in contents.images.indices {
            let image = contents.images[index]
            let repository = try ImageReference(image.name).name
            let subject = Descriptor(mediaType: image.mediaType, digest: image.digest, size: image.size)
            let predicate = Predicate(bundle: bundle, kind: .image, name: image.name, source: image.source)
            let records = try attach(
                predicate,
                subject: subject,
                repository: repository,
                kind: .referrer,
                keys: keys,
                created: bundle.created,
                store: store,
                into: &contents
            )
            contents.images[index].referrers = (image.referrers ?? []) + records
        }
        for index in contents.charts.indices {
            let chart = contents.charts[index]
            let repository = "charts/\(chart.name)"
            // The chart's manifest as the layout already describes it (no need to read it again).
            let digest = chart.digest
            let tagged = contents.tagged.first { $0.refName == chart.ref && $0.digest == digest }
            let subject = Descriptor(
                mediaType: tagged?.mediaType ?? MediaType.ociManifest,
                digest: digest,
                size: try tagged?.size ?? Int64(store.bytes(of: digest).count)
            )
            let predicate = Predicate(bundle: bundle, kind: .chart, name: "\(chart.name) \(chart.version)", source: chart.source)
            let records = try attach(
                predicate,
                subject: subject,
                repository: repository,
                kind: .chartReferrer,
                keys: keys,
                created: bundle.created,
                store: store,
                into: &contents
            )
            contents.charts[index].referrers = (chart.referrers ?? []) + records
        }
    }

    private static func attach(
        _ predicate: Predicate,
        subject: Descriptor,
        repository: String,
        kind: LayoutKind,
        keys: [PrivateKey],
        created: String,
        store: ContentStore,
        into contents: inout PackContents
    ) throws -> [BundlePredicate.Referrer] {
        let envelope = try signedEnvelope(predicate, subject: subject.digest, name: repository, keys: keys)
        return [
            try attachAsAttTag(envelope, subject: subject, repository: repository, kind: kind, store: store, into: &contents),
            try attachAsReferrer(
                envelope,
                keyID: keys[0].publicKey.keyID,
                subject: subject,
                repository: repository,
                kind: kind,
                created: created,
                store: store,
                into: &contents
            ),
        ]
    }

    /// cosign 2's place: the envelope as a layer of the `sha256-<hex>.att` manifest (extended when
    /// the image carried one).
    private static func attachAsAttTag(
        _ envelope: [UInt8],
        subject: Descriptor,
        repository: String,
        kind: LayoutKind,
        store: ContentStore,
        into contents: inout PackContents
    ) throws -> BundlePredicate.Referrer {
        let layer = try blob(envelope, store: store, role: .config, into: &contents)
        // cosign 2: the envelope as a layer of the sha256-<hex>.att manifest (extended if carried).
        let attRef = "\(repository):\(subject.digest.referrersTag).att"
        var layers: [[String: Any]] = []
        if let carried = contents.tagged.first(where: { $0.refName == attRef }),
            let object = try JSONSerialization.jsonObject(with: Data(try store.bytes(of: carried.digest))) as? [String: Any]
        {
            layers = object["layers"] as? [[String: Any]] ?? []
            contents.tagged.removeAll { $0.refName == attRef }
        }
        layers.append([
            "mediaType": MediaType.dsseEnvelope.rawValue, "digest": layer.digest.description, "size": layer.size,
            "annotations": ["dev.cosignproject.cosign/signature": "", "predicateType": predicateType],
        ])
        let config = try blob(
            try json(cosignConfig(diffIDs: layers.compactMap { $0["digest"] as? String })),
            store: store,
            role: .config,
            into: &contents
        )
        let att = try blob(
            try json([
                "schemaVersion": 2, "mediaType": MediaType.ociManifest.rawValue,
                "config": ["mediaType": MediaType.ociConfig.rawValue, "digest": config.digest.description, "size": config.size],
                "layers": layers,
            ]),
            store: store,
            role: .manifest,
            into: &contents
        )
        try contents.tag(
            Descriptor(mediaType: MediaType.ociManifest, digest: att.digest, size: att.size),
            refName: attRef,
            kind: kind,
            location: "attest"
        )
        return .init(subject: subject.digest, digest: att.digest, mediaType: .ociManifest, artifactType: nil, ref: attRef, via: via)
    }

    /// cosign 3's place: a Sigstore bundle holding the same envelope, as an OCI 1.1 referrer.
    private static func attachAsReferrer(
        _ envelope: [UInt8],
        keyID: String,
        subject: Descriptor,
        repository: String,
        kind: LayoutKind,
        created: String,
        store: ContentStore,
        into contents: inout PackContents
    ) throws -> BundlePredicate.Referrer {
        let sigstore = try blob(
            try json([
                "mediaType": MediaType.sigstoreBundle.rawValue,
                "verificationMaterial": ["publicKey": ["hint": keyID], "tlogEntries": [Any]()],
                "dsseEnvelope": try JSONSerialization.jsonObject(with: Data(envelope)),
            ]),
            store: store,
            role: .config,
            into: &contents
        )
        let empty = try blob(Array("{}".utf8), store: store, role: .config, into: &contents)
        let subjectObject: [String: Any] = [
            "mediaType": subject.mediaType.rawValue, "digest": subject.digest.description, "size": subject.size,
        ]
        let referrer = try blob(
            try json([
                "schemaVersion": 2, "mediaType": MediaType.ociManifest.rawValue, "artifactType": MediaType.sigstoreBundle.rawValue,
                "config": ["mediaType": MediaType.ociEmpty.rawValue, "digest": empty.digest.description, "size": empty.size],
                "layers": [["mediaType": MediaType.sigstoreBundle.rawValue, "digest": sigstore.digest.description, "size": sigstore.size]],
                "subject": subjectObject,
                "annotations": [
                    "dev.sigstore.bundle.content": "dsse-envelope", "dev.sigstore.bundle.predicateType": predicateType,
                    "org.opencontainers.image.created": created,
                ],
            ]),
            store: store,
            role: .manifest,
            into: &contents
        )
        let referrerRef = "\(repository)@\(referrer.digest)"
        var tagged = Descriptor(mediaType: MediaType.ociManifest, digest: referrer.digest, size: referrer.size)
        tagged.artifactType = .sigstoreBundle
        try contents.tag(tagged, refName: referrerRef, kind: kind, location: "attest")
        return .init(
            subject: subject.digest,
            digest: referrer.digest,
            mediaType: .ociManifest,
            artifactType: .sigstoreBundle,
            ref: referrerRef,
            via: via
        )
    }

    /// The DSSE envelope (compact JSON) of the statement about `digest`, signed by every key.
    static func signedEnvelope(_ predicate: Predicate, subject digest: Digest, name: String, keys: [PrivateKey]) throws -> [UInt8] {
        let statement = Statement(
            subject: [.init(name: name, digest: ["sha256": digest.encoded])],
            predicateType: predicateType,
            predicate: predicate
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var envelope = DSSEEnvelope(payload: Array(try encoder.encode(statement)))
        for key in keys { try envelope.sign(with: key) }
        return Array(try encoder.encode(envelope))
    }

    /// The image config cosign gives an attestation manifest (go-containerregistry's empty image
    /// with the layers' digests as diff IDs).
    private static func cosignConfig(diffIDs: [String]) -> [String: Any] {
        [
            "architecture": "", "config": [String: Any](), "created": "0001-01-01T00:00:00Z",
            "history": diffIDs.map { _ in ["created": "0001-01-01T00:00:00Z"] }, "os": "",
            "rootfs": ["type": "layers", "diff_ids": diffIDs],
        ]
    }

    private static func json(_ object: [String: Any]) throws -> [UInt8] {
        Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
    }

    private static func blob(
        _ bytes: [UInt8],
        store: ContentStore,
        role: PackContents.Role,
        into contents: inout PackContents
    ) throws -> (digest: Digest, size: Int64) {
        let stored = try store.ingest(bytes: bytes, what: "delivery attestation")
        contents.addBlob(stored.digest, size: stored.size, role: role)
        return (stored.digest, stored.size)
    }
}
