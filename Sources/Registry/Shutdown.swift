/// Runs `body`, then `shutdown`, whether `body` returned or threw: the `defer` an async cleanup
/// cannot have (a client's connections, a source's clients).
public func withShutdown<T>(_ shutdown: () async -> Void, _ body: () async throws -> T) async throws -> T {
    let value: T
    do {
        value = try await body()
    } catch {
        await shutdown()
        throw error
    }
    await shutdown()
    return value
}
