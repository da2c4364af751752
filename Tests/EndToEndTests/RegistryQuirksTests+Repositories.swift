import Foundation
import TestSupport
import Testing

/// Registries that want their repositories made first, refuse the ledger's entry, send uploads
/// elsewhere, or rate-limit.
extension RegistryQuirksTests {
    @Test func missingRepositoriesAreAllNamedBeforeAnythingIsSent() throws {
        let setup = try Setup(["missingRepos=mirror/team/app,mirror/team/worker"])
        defer { setup.stop() }
        for dryRun in [true, false] {
            let push = try setup.push(dryRun ? ["--dry-run"] : [])
            #expect(push.status == 3, "\(push.stderr)")
            #expect(
                push.stderr.contains("has no repository mirror/team/app, mirror/team/worker and does not create them on push"),
                "\(push.stderr)"
            )
            #expect(push.stderr.split(separator: "\n").count == 1, "one line: \(push.stderr)")
        }
        #expect(setup.registry.storedBlobs().isEmpty, "nothing was uploaded")
    }

    /// The import ledger's repository is one more the registry must have: named with the others,
    /// with what it is for; --no-ledger pushes without it.
    @Test func aMissingLedgerRepositoryIsNamedWithTheWayAround() throws {
        let setup = try Setup(["missingRepos=mirror/team/app,mirror/airlock/imports"])
        defer { setup.stop() }
        let push = try setup.push()
        #expect(
            push.status == 3
                && push.stderr.contains("has no repository mirror/airlock/imports, mirror/team/app and does not create them on push")
                && push.stderr.contains("(mirror/airlock/imports is the import ledger: --no-ledger to push without it)"),
            "\(push.stderr)"
        )
        #expect(setup.registry.storedBlobs().isEmpty, "nothing was uploaded")
        let without = try setup.push(["--no-ledger"])
        #expect(
            without.status == 3 && without.stderr.contains("has no repository mirror/team/app and does not create them on push")
                && !without.stderr.contains("ledger"),
            "\(without.stderr)"
        )
    }

    /// A registry that refuses OCI 1.1's artifactType (mode rejectArtifactType) refuses the
    /// ledger's entry: images and charts land and are tagged, the push says the import is not
    /// recorded (exit 1), and --no-ledger is the way to push there.
    @Test func aRegistryThatRefusesTheLedgersEntryGetsTheImagesAndTheReason() throws {
        let setup = try Setup(["rejectArtifactType"])
        defer { setup.stop() }
        let push = try setup.push()
        #expect(
            push.status == 1 && push.stderr.contains("refused the import ledger's entry") && push.stderr.contains("--no-ledger"),
            "\(push.stderr)"
        )
        #expect(try setup.digest(of: "mirror/team/app:1.4.2") != nil, "the image is tagged")
        #expect(try setup.push(["--no-ledger"]).status == 0)
    }

    @Test func anUploadLocationPointingAtAnotherHostIsRefused() throws {
        let setup = try Setup(["locHost"])
        defer { setup.stop() }
        let push = try setup.push()
        #expect(push.status == 3 && push.stderr.contains("sent the upload to http://upload.invalid:5000/v2/"), "\(push.stderr)")
        #expect(push.stderr.contains("set the registry's external URL"))
        #expect(try setup.digest(of: "mirror/team/app:1.4.2") == nil, "nothing tagged")
    }

    @Test(.needs(.openssl))
    func anHTTPSRegistryThatSendsTheUploadToPlainHTTPGetsNoCredentials() throws {
        let root = try Harness.temporaryDirectory("quirks-tls")
        let ca = try TestCA(root: root)
        let plainPort = try freePort()
        let setup = try Setup(["locHttp=\(plainPort)"], credentials: true, tls: try ca.issue("registry"))
        defer { setup.stop() }
        let push = try setup.push(["--ca-file", ca.certificate], plain: false)
        #expect(push.status == 3 && push.stderr.contains("plain HTTP from an HTTPS registry"), "\(push.stderr)")
        #expect(
            !(try setup.requests()).contains { $0["downgraded"] as? Bool == true },
            "nothing, credentials least of all, went to the plain listener"
        )
        expectNoSecret(push)
    }

    @Test func aRateLimitThatWillNotLiftSoonIsReportedOnceLikeDockerHub() throws {
        let setup = try Setup(["rateLimit=1"])
        defer { setup.stop() }
        try expectPushed(try setup.push(), setup)
        try setup.writeSpec(name: "limited", refs: ["\(setup.host)/mirror/team/app:1.4.2", "\(setup.host)/mirror/team/worker:1.4.2"])
        let pack = try Harness.airlock(["pack", "-q", "--plain-http", setup.host], in: setup.root, environment: setup.environment)
        #expect(
            pack.status == 3 && pack.stderr.contains("rate-limits this client until") && pack.stderr.contains("limit 1 per 3600 s"),
            "\(pack.stderr)"
        )
        #expect(pack.stderr.contains("airlock login"))
        #expect(try setup.requests().filter { $0["status"] as? Int == 429 }.count == 1, "no retry storm against a limit an hour away")
    }
}
