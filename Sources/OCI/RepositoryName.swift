/// A repository's path inside a registry (`team/app`, `mirror/charts/platform`): lowercase
/// components of letters and digits, joined by `.`, `_`, `__` or `-`, between slashes — the
/// distribution spec's `<name>`. Registry operations take it instead of a string, so a path is
/// checked once, where it is made.
public struct RepositoryName: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let path: String

    public init(_ path: String) throws {
        let components = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard !path.isEmpty, path.utf8.count < 256, components.allSatisfy(ImageReference.isValidComponent) else {
            throw OCIError.invalidRepository(path)
        }
        self.path = path
    }

    /// A path already checked (an ``ImageReference``'s).
    init(checked path: String) { self.path = path }

    /// `self/child`, checked.
    public func appending(_ child: String) throws -> RepositoryName { try RepositoryName("\(path)/\(child)") }

    public var description: String { path }

    public static func < (left: RepositoryName, right: RepositoryName) -> Bool { left.path < right.path }
}

/// What a manifest is asked for by, as `/v2/<name>/manifests/<reference>` takes it: a tag or a digest.
public enum ManifestReference: Sendable, Hashable, CustomStringConvertible {
    case tag(String)
    case digest(Digest)

    /// A digest when it names an algorithm (`sha256:…`), else a tag, which must match
    /// `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
    public init(_ text: String) throws {
        if text.contains(":") {
            self = .digest(try Digest(text))
        } else if ImageReference.isValidTag(text) {
            self = .tag(text)
        } else {
            throw OCIError.invalidReference(text, reason: "tag must match [A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
        }
    }

    public var description: String {
        switch self {
        case .tag(let tag): tag
        case .digest(let digest): digest.description
        }
    }

    /// The digest, when it is one.
    public var digest: Digest? {
        if case .digest(let digest) = self { return digest }
        return nil
    }
}

extension ImageReference {
    /// The repository, as registry operations take it.
    public var repositoryName: RepositoryName { RepositoryName(checked: repository) }

    /// The digest when there is one, else the tag (`latest` for a reference parsed without either).
    public var manifestReference: ManifestReference {
        if let digest { return .digest(digest) }
        return .tag(tag ?? "latest")
    }
}
