import BundleIO
import Foundation
import OCI

/// What changed from one bundle to the next: images, charts, endpoints and files by name, and how
/// many blobs (and bytes) are new, shared or dropped — what a change board reviews before a delivery
/// is let in, and what a delta bundle (`pack --since OLD`) would carry. Either side may be a bundle,
/// its parts, or its detached envelope; with trusted keys both signatures are checked first.
public struct BundleDiff: Sendable, Codable {
    public struct Side: Sendable, Codable {
        public var path: String
        public var name: String
        public var version: String
        public var created: String
    }

    /// One difference: `kind` image, chart, endpoint, egress, install-values or file; `change` added, removed or changed.
    public struct Change: Sendable, Codable, Equatable {
        public var kind: String
        public var name: String
        public var change: String
        public var old: String?
        public var new: String?
    }

    public struct Tally: Sendable, Codable, Equatable {
        public var blobs = 0
        public var bytes: Int64 = 0
    }

    public var old: Side
    public var new: Side
    /// Both statements' signatures were checked against the trusted keys.
    public var verified: Bool
    public var changes: [Change]
    /// Blobs only NEW carries (what a delta since OLD would carry), both carry, and only OLD carried.
    public var newBlobs: Tally
    public var sharedBlobs: Tally
    public var droppedBlobs: Tally
    public var identical: Bool { changes.isEmpty && newBlobs.blobs == 0 && droppedBlobs.blobs == 0 }

    /// Compares the statements of `old` and `new`; `policy` nil reads them without checking signatures.
    public static func compare(old: String, new: String, policy: SignaturePolicy?) throws -> BundleDiff {
        let before = try SignedStatement.load(old, policy: policy)
        let after = try SignedStatement.load(new, policy: policy)
        var changes: [Change] = []
        func compare(_ kind: String, _ lhs: [String: String], _ rhs: [String: String]) {
            for name in Set(lhs.keys).union(rhs.keys).sorted() where lhs[name] != rhs[name] {
                let change = lhs[name] == nil ? "added" : rhs[name] == nil ? "removed" : "changed"
                changes.append(Change(kind: kind, name: name, change: change, old: lhs[name], new: rhs[name]))
            }
        }
        compare("image", before.images, after.images)
        compare("chart", before.charts, after.charts)
        compare("endpoint", before.entries(under: BundleFormat.endpointsPrefix), after.entries(under: BundleFormat.endpointsPrefix))
        compare("egress", before.entries(under: BundleFormat.egressPrefix), after.entries(under: BundleFormat.egressPrefix))
        compare("install-values", before.entries(under: BundleFormat.installPrefix), after.entries(under: BundleFormat.installPrefix))
        compare("file", before.entries(under: BundleFormat.filesPrefix), after.entries(under: BundleFormat.filesPrefix))
        var diff = BundleDiff(
            old: before.side,
            new: after.side,
            verified: policy != nil,
            changes: changes,
            newBlobs: Tally(),
            sharedBlobs: Tally(),
            droppedBlobs: Tally()
        )
        for (digest, size) in after.blobs {
            if before.blobs[digest] == nil { diff.newBlobs.add(size) } else { diff.sharedBlobs.add(size) }
        }
        for (digest, size) in before.blobs where after.blobs[digest] == nil { diff.droppedBlobs.add(size) }
        return diff
    }
}

extension BundleDiff.Tally {
    mutating func add(_ size: Int64) {
        blobs += 1
        bytes += size
    }
}

/// A bundle's statement, from the bundle (or its parts) or from its detached envelope, with the
/// signature checked when a policy is given.
struct SignedStatement {
    let path: String
    let statement: Statement

    static func load(_ path: String, policy: SignaturePolicy?) throws -> SignedStatement {
        if path.hasSuffix(".intoto.json") {
            guard let bytes = FileManager.default.contents(atPath: path) else { throw ReadError.unreadable(path: path) }
            var statement: Statement
            if let policy {
                var report = VerificationReport(bundle: path)
                do {
                    statement = try VerificationPass(path: path, policy: policy, receiver: nil).checkStatementBytes(
                        Array(bytes),
                        report: &report
                    )
                } catch let failure as CheckFailure {
                    throw ReadError.unverified(path: path, why: failure.message)
                }
            } else {
                statement = try Inspector.parseStatement(Array(bytes), from: path).1
            }
            // The detached copy also signs the bundle file and its parts: not entries.
            statement.subject.removeAll { !$0.name.contains("/") }
            return SignedStatement(path: path, statement: statement)
        }
        guard FileManager.default.fileExists(atPath: path) || BundleFile.existsAsParts(path) else {
            throw ReadError.noSuchBundle(path: path)
        }
        if (try? RegistryInventory.loadIfInventory(path)) != nil {
            throw ReadError.isInventory(path: path)
        }
        if let policy {
            do {
                return SignedStatement(path: path, statement: try BundleRandomAccess(path: path, policy: policy).statement)
            } catch let error as ReadError where error.isCheckFailure {
                throw ReadError.unverified(path: path, why: "\(error)")
            }
        }
        return SignedStatement(path: path, statement: try Inspector.readStatement(try BundleFile.open(path)).1)
    }

    var side: BundleDiff.Side {
        BundleDiff.Side(
            path: path,
            name: statement.predicate.name,
            version: statement.predicate.version,
            created: statement.predicate.created
        )
    }

    var images: [String: String] {
        Dictionary(statement.predicate.images.map { ($0.name, $0.digest.description) }, uniquingKeysWith: { first, _ in first })
    }

    var charts: [String: String] {
        Dictionary(
            statement.predicate.charts.map { ("\($0.name) \($0.version)", $0.digest.description) },
            uniquingKeysWith: { first, _ in first }
        )
    }

    /// Entry path → sha256 for entries under `prefix`.
    func entries(under prefix: String) -> [String: String] {
        Dictionary(
            statement.subject.filter { $0.name.hasPrefix(prefix) }.compactMap { subject in
                subject.sha256.flatMap { try? Digest(sha256Hex: $0) }.map { (subject.name, $0.description) }
            },
            uniquingKeysWith: { first, _ in first }
        )
    }

    /// Digest → size of every OCI blob the bundle carries, and of those a delta leaves out (they
    /// are part of the release all the same).
    var blobs: [Digest: Int64] {
        var blobs: [Digest: Int64] = [:]
        for subject in statement.subject {
            if let digest = BundleFormat.blobDigest(entry: subject.name), let size = subject.annotations?.size { blobs[digest] = size }
        }
        for blob in statement.predicate.base?.blobs ?? [] { blobs[blob.digest] = blob.size }
        return blobs
    }
}
