import Testing

@testable import Registry

/// How `airlock serve` reads a request path of the distribution API.
struct ServerRouteTests {
    @Test(arguments: [
        ("/v2", ServerRoute.base),
        ("/v2/", .base),
        ("/v2/_catalog", .catalog),
        ("/v2/team/app/tags/list", .tags("team/app")),
        ("/v2/team/app/manifests/1.4.2", .manifest("team/app", reference: "1.4.2")),
        ("/v2/a/manifests/b/manifests/sha256:1", .manifest("a/manifests/b", reference: "sha256:1")),
        ("/v2/team/app/blobs/sha256:ab", .blob("team/app", digest: "sha256:ab")),
        ("/v2/team/app/referrers/sha256:ab", .referrers("team/app", digest: "sha256:ab")),
        ("/v2/team/app", .unknown),
        ("/healthz", .health), ("/metrics", .unknown),
    ])
    func eachPathNamesWhatItAsksFor(path: String, route: ServerRoute) {
        #expect(ServerRoute(path: path) == route)
    }
}
