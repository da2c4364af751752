import BundleIO
import Foundation
import OCI

/// Images from a `docker save` archive: the classic layout (`manifest.json` + layer tars) or the
/// OCI layout that Docker 25+ writes inside the same tar.
enum DockerArchiveSource {
    private struct ClassicImage: Decodable {
        var Config: String
        var RepoTags: [String]?
        var Layers: [String]
    }

    static func add(
        archive: String,
        select: String?,
        name: ImageReference?,
        platforms: [Platform] = [],
        written: String,
        location: String,
        store: ContentStore,
        into contents: inout PackContents
    ) throws {
        let what = "\(location): archive \(written)"
        let members = try ingestMembers(of: archive, store: store, what: what)
        func member(_ path: String) -> ContentStore.Ingested? { members.resolve(path) }

        if member("index.json") != nil, member("oci-layout") != nil,
            let (root, refName) = try ociRoot(members: members, select: select ?? name?.description, store: store, what: what)
        {
            let manifest =
                root.mediaType.isManifest
                ? try ContentDocument(bytes: try store.bytes(of: root.digest), declaredType: root.mediaType) : nil
            // Docker 25.0.0 wrote OCI manifests without layers (moby#47065): use manifest.json then.
            if manifest.map({ !$0.layers.isEmpty }) ?? true {
                let imageName =
                    try name ?? refName.map(ImageReference.init) ?? { throw SourceError.needsName(what: what, why: nil) }()
                let find = { (descriptor: Descriptor) throws -> ContentStore.Ingested in
                    guard let found = member(descriptor.digest.layoutPath), found.digest == descriptor.digest, found.size == descriptor.size
                    else {
                        throw SourceError.blobMissingOrDamaged(what: what, digest: descriptor.digest)
                    }
                    return found
                }
                let copier = GraphCopier(
                    document: { try store.bytes(of: try find($0).digest) },
                    register: { descriptor, role, contents in
                        _ = try find(descriptor)
                        contents.addBlob(descriptor.digest, size: descriptor.size, role: role)
                    },
                    what: what
                )
                let (carried, found, sourceDigest) = try copier.copy(root, platforms: platforms, store: store, into: &contents)
                try record(
                    root: carried,
                    name: imageName,
                    source: "docker-archive:\(written)",
                    platforms: found,
                    sourceDigest: sourceDigest,
                    attestations: PlatformSubset.attestations(of: carried) { try store.bytes(of: $0.digest) },
                    location: location,
                    into: &contents
                )
                return
            }
        }
        if !platforms.isEmpty {
            throw SourceError.singlePlatform(what: what)
        }
        try addClassic(members: members, select: select, name: name, written: written, location: location, store: store, into: &contents)
    }

    /// Builds an OCI manifest around the classic layout's config and layer tars. The config bytes
    /// are kept, so the image ID and the layer diff_ids stay what Docker reported.
    private static func addClassic(
        members: ArchiveMembers,
        select: String?,
        name: ImageReference?,
        written: String,
        location: String,
        store: ContentStore,
        into contents: inout PackContents
    ) throws {
        let what = "\(location): archive \(written)"
        guard let manifestMember = members.resolve("manifest.json") else {
            throw SourceError.notAnArchive(what: what)
        }
        let images: [ClassicImage]
        do { images = try JSONDecoder().decode([ClassicImage].self, from: Data(try store.bytes(of: manifestMember.digest))) } catch {
            throw SourceError.unreadable(what: what, file: "manifest.json", detail: "\(error)")
        }
        let wanted = select ?? name?.description
        let chosen: ClassicImage
        if let wanted {
            let matches = images.filter { image in
                (image.RepoTags ?? []).contains { tag in
                    tag == wanted || (try? ImageReference(tag).description) == (try? ImageReference(wanted).description)
                }
            }
            guard matches.count == 1 || images.count == 1, let match = matches.first ?? images.first else {
                throw SourceError.noSuchTag(what: what, tag: wanted, known: images.flatMap { $0.RepoTags ?? [] })
            }
            chosen = match
        } else {
            guard images.count == 1, let only = images.first else {
                throw SourceError.chooseOne(what: what, count: images.count, names: nil)
            }
            chosen = only
        }
        let imageName: ImageReference
        if let name {
            imageName = name
        } else if let tags = chosen.RepoTags, tags.count == 1 {
            imageName = try ImageReference(tags[0])
        } else {
            throw SourceError.needsName(what: what, why: "the archive does not carry exactly one tag")
        }
        guard let config = members.resolve(chosen.Config) else {
            throw SourceError.memberMissing(what: what, kind: "config", path: chosen.Config)
        }
        contents.addBlob(config.digest, size: config.size, role: .config)
        var layers: [Descriptor] = []
        for path in chosen.Layers {
            guard let layer = members.resolve(path) else { throw SourceError.memberMissing(what: what, kind: "layer", path: path) }
            let type: MediaType
            if layer.head.starts(with: [0x1f, 0x8b]) {
                type = MediaType.ociLayerGzip
            } else if layer.head.starts(with: [0x28, 0xb5, 0x2f, 0xfd]) {
                type = MediaType.ociLayerZstd
            } else {
                type = MediaType.ociLayer
            }
            layers.append(Descriptor(mediaType: type, digest: layer.digest, size: layer.size))
            contents.addBlob(layer.digest, size: layer.size, role: .layer)
        }
        let manifest = ImageManifest(
            mediaType: MediaType.ociManifest,
            config: Descriptor(mediaType: MediaType.ociConfig, digest: config.digest, size: config.size),
            layers: layers
        )
        let stored = try store.ingest(bytes: try CanonicalJSON.encode(manifest), what: "\(what): manifest")
        contents.addBlob(stored.digest, size: stored.size, role: .manifest)
        let root = Descriptor(mediaType: MediaType.ociManifest, digest: stored.digest, size: stored.size)
        try record(root: root, name: imageName, source: "docker-archive:\(written)", location: location, into: &contents)
    }

    private static func record(
        root: Descriptor,
        name: ImageReference,
        source: String,
        platforms: [Platform] = [],
        sourceDigest: Digest? = nil,
        attestations: [BundlePredicate.AttestationManifest]? = nil,
        location: String,
        into contents: inout PackContents
    ) throws {
        try contents.tag(root, refName: name.description, kind: .image, location: location)
        contents.images.append(
            BundlePredicate.Image(
                name: name.description,
                source: source,
                digest: root.digest,
                mediaType: root.mediaType,
                size: root.size,
                platforms: platforms.isEmpty ? nil : platforms.map(\.description).sorted(),
                sourceDigest: sourceDigest,
                attestationManifests: attestations
            )
        )
    }

    /// The root descriptor of the OCI layout inside the archive, and the full name Docker gave it.
    private static func ociRoot(
        members: ArchiveMembers,
        select: String?,
        store: ContentStore,
        what: String
    ) throws -> (Descriptor, String?)? {
        guard let indexMember = members.resolve("index.json") else { return nil }
        let index = try ContentDocument(bytes: try store.bytes(of: indexMember.digest), declaredType: MediaType.ociIndex)
        let fullName = "io.containerd.image.name"
        let chosen: Descriptor
        if let select {
            let normalized = try? ImageReference(select).description
            guard
                let match = index.manifests.first(where: { descriptor in
                    let names = [descriptor.annotations?[fullName], descriptor.refName].compactMap { $0 }
                    return names.contains(select) || names.contains { (try? ImageReference($0).description) == normalized }
                })
            else {
                return index.manifests.count == 1 ? (index.manifests[0], index.manifests[0].annotations?[fullName]) : nil
            }
            chosen = match
        } else {
            guard index.manifests.count == 1 else {
                throw SourceError.chooseOne(what: what, count: index.manifests.count, names: nil)
            }
            chosen = index.manifests[0]
        }
        return (chosen, chosen.annotations?[fullName])
    }

    /// Streams every regular member of the archive into the store once, remembering where each went.
    private static func ingestMembers(of archive: String, store: ContentStore, what: String) throws -> ArchiveMembers {
        let reader = try TarReader(path: archive, input: .anyTar)
        var members = ArchiveMembers()
        while let header = try reader.next() {
            let path = normalize(header.path)
            switch header.kind {
            case .regular:
                members.files[path] = try store.ingest(what: "\(what): \(path)") { sink in try reader.readData(sink) }
            case .symlink, .hardlink:
                if let target = header.linkTarget { members.links[path] = (header.kind, normalize(target)) }
            default:
                continue
            }
        }
        return members
    }

    private static func normalize(_ path: String) -> String {
        var path = path
        while path.hasPrefix("./") { path.removeFirst(2) }
        return path
    }
}

/// The members of an archive by path, following the links classic `docker save` uses for shared layers.
struct ArchiveMembers {
    var files: [String: ContentStore.Ingested] = [:]
    var links: [String: (TarEntryKind, String)] = [:]

    func resolve(_ path: String, depth: Int = 0) -> ContentStore.Ingested? {
        if let file = files[path] { return file }
        guard depth < 8, let (kind, target) = links[path] else { return nil }
        if kind == .hardlink { return resolve(target, depth: depth + 1) }
        let folder = path.split(separator: "/").dropLast()
        var parts = Array(folder.map(String.init))
        for component in target.split(separator: "/") {
            if component == ".." { _ = parts.popLast() } else if component != "." { parts.append(String(component)) }
        }
        return resolve(parts.joined(separator: "/"), depth: depth + 1)
    }
}
