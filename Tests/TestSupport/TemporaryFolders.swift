import Foundation
import Testing

/// The temporary folders made during a test (by ``Harness/temporaryDirectory(_:)``, and so by
/// ``PackedExample`` and the other helpers), removed when the test ends, however it ends: a suite
/// says `@Suite(.removesTemporaryFolders)` instead of a `defer { removeItem }` in every test.
package final class TemporaryFolders: @unchecked Sendable {
    // @unchecked: `paths` is guarded by `lock`.
    @TaskLocal package static var current: TemporaryFolders?
    private let lock = NSLock()
    private var paths: [String] = []

    func add(_ path: String) { lock.withLock { paths.append(path) } }

    func removeAll() {
        for path in lock.withLock({ paths.reversed() }) { try? FileManager.default.removeItem(atPath: path) }
    }
}

/// Gives each test of a suite its own ``TemporaryFolders``, emptied when the test ends.
package struct RemovesTemporaryFolders: SuiteTrait, TestTrait, TestScoping {
    package var isRecursive: Bool { true }

    package func provideScope(
        for test: Test,
        testCase: Test.Case?,
        performing function: @Sendable () async throws -> Void
    ) async throws {
        let folders = TemporaryFolders()
        defer { folders.removeAll() }
        try await TemporaryFolders.$current.withValue(folders) { try await function() }
    }
}

extension Trait where Self == RemovesTemporaryFolders {
    /// Removes the temporary folders each test made when it ends.
    package static var removesTemporaryFolders: Self { RemovesTemporaryFolders() }
}
