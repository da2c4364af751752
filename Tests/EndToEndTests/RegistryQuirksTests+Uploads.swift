import Foundation
import TestSupport
import Testing

/// Uploads as the registries that break naive clients take them: ECR's 201 to a PATCH, a PUT
/// too big for a proxy, Harbor's refused mount, a connection cut mid-body.
extension RegistryQuirksTests {
    @Test func aChunkedUploadToARegistryThatAnswersPatchWith201LikeECR() throws {
        let setup = try Setup(["ecrPatch"])
        defer { setup.stop() }
        try expectPushed(try setup.push(["--chunk-size", "4096"]), setup)
        #expect(try setup.requests().contains { $0["method"] as? String == "PATCH" && $0["status"] as? Int == 201 })
    }

    @Test func aRegistryThatRefusesAWholeBlobInOnePutGetsItInChunks() throws {
        let setup = try Setup(["noMonolithic"])
        defer { setup.stop() }
        try expectPushed(try setup.push(), setup)
        let requests = try setup.requests()
        #expect(requests.contains { $0["method"] as? String == "PUT" && $0["status"] as? Int == 413 })
        #expect(requests.contains { $0["method"] as? String == "PATCH" && $0["status"] as? Int == 202 })
    }

    @Test func aRefusedCrossRepositoryMountFallsBackToAnUploadLikeHarbor() throws {
        let setup = try Setup(["mount401"])
        defer { setup.stop() }
        let push = try setup.push()
        try expectPushed(push, setup)
        #expect(try setup.requests().contains { ($0["path"] as? String ?? "").contains("mount=") && $0["status"] as? Int == 401 })
        let report = try #require(try JSONSerialization.jsonObject(with: push.data) as? [String: Any])
        #expect((report["blobs"] as? [String: Any])?["mounted"] as? Int == 0)
    }

    @Test func anUploadThatBreaksMidBodyStartsAFreshSession() throws {
        let setup = try Setup(["cutAfter=100"], layerMB: 1)
        defer { setup.stop() }
        try expectPushed(try setup.push(), setup)
        #expect(try setup.requests().contains { $0["status"] as? String == "cut" })
    }
}
