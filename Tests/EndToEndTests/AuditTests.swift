import Foundation
import TestSupport
import Testing

/// The auditor, months later: every tag of the private registry, and every image digest the
/// cluster reports, looked up in the signed bundles (kept as bundles or as envelopes alone).
/// Against a real docker-registry, with skopeo putting in an image no bundle carried.
@Suite(.removesTemporaryFolders, .needs(.dockerRegistry, .skopeo, .zstd, .python3))
struct AuditTests {
    @Test func everyTagAndRunningDigestIsTracedToASignedBundleOrListed() throws {
        let releases = try DeltaBundleJourneyTests.Releases.make()
        let root = releases.root
        let registry = try TestRegistry(tls: false)
        defer { registry.stop() }
        for bundle in [releases.v1, releases.v2] {
            let push = try Harness.airlock(
                [
                    "push", bundle, "--registry", "\(registry.host)/site", "--plain-http", registry.host,
                    "--key", "signer.pub", "--config-dir", "cfg", "-q",
                ],
                in: root
            )
            try #require(push.status == 0, "\(push.stderr)")
        }
        // An image that came in another way: the example's docker save archive, which no bundle carried.
        let extra = try Harness.makeExample(in: "\(root)/extra", dockerArchive: true)
        let stray = try Harness.run([
            "skopeo", "copy", "--quiet", "--dest-tls-verify=false", "docker-archive:\(extra)/build/worker.tar",
            "docker://\(registry.host)/site/stray/worker:1",
        ])
        try #require(stray.status == 0, "\(stray.stderr)")
        func digest(_ reference: String, index: Int? = nil) throws -> String {
            let raw = try Harness.run(["skopeo", "inspect", "--raw", "--tls-verify=false", "docker://\(registry.host)/\(reference)"])
            try #require(raw.status == 0, "\(raw.stderr)")
            if let index {
                let document = try #require(try JSONSerialization.jsonObject(with: raw.data) as? [String: Any])
                return try #require((document["manifests"] as? [[String: Any]])?[index]["digest"] as? String)
            }
            return try "sha256:" + Harness.run(["sha256sum"], stdin: raw.data).stdout.prefix(64)
        }
        func audit(_ arguments: [String], stdin: Data? = nil) throws -> (Harness.Output, [String: [String: Any]]) {
            let result = try Harness.run(
                [Harness.airlock, "audit", "--key", "signer.pub", "--plain-http", registry.host, "--output", "json"] + arguments,
                in: root,
                stdin: stdin
            )
            let report = (try? JSONSerialization.jsonObject(with: result.data) as? [String: Any]) ?? [:]
            let findings = (report["findings"] as? [[String: Any]] ?? []).map { ($0["reference"] as? String ?? "", $0) }
            return (result, Dictionary(findings, uniquingKeysWith: { first, _ in first }))
        }

        // The whole registry against release 1's envelope and release 2's bundle: the stray is listed, exit 1.
        let (whole, findings) = try audit(["\(releases.v1).intoto.json", releases.v2, "--registry", "\(registry.host)/site"])
        #expect(whole.status == 1, "\(whole.stderr)")
        let app = try #require(findings["site/team/app:1.4.2"], "\(findings.keys.sorted())")
        let appDigest = try digest("site/team/app:1.4.2")
        #expect(
            app["signed"] as? Bool == true && app["what"] as? String == "image registry.example.com/team/app:1.4.2"
                && app["digest"] as? String == appDigest,
            "\(app)"
        )
        #expect(findings["site/charts/platform:1.4.2"]?["what"] as? String == "chart platform 1.4.2", "\(findings.keys.sorted())")
        let unsigned = findings.values.filter { $0["signed"] as? Bool == false }.compactMap { $0["reference"] as? String }
        #expect(unsigned == ["site/stray/worker:1"], "\(unsigned)")
        let text = try Harness.airlock(
            ["audit", releases.v2, "--key", "signer.pub", "--registry", "\(registry.host)/site", "--plain-http", registry.host],
            in: root
        )
        #expect(
            text.status == 1 && text.stdout.contains("UNSIGNED  site/stray/worker:1 sha256:") && text.stdout.contains("; 1 not"),
            "\(text.stdout)"
        )

        // Only the repositories the bundles went to: all signed, exit 0. Release 1 alone no longer
        // accounts for the app tag, which release 2 moved.
        let named = ["--registry", "\(registry.host)/site", "--repository", "team/app", "--repository", "team/multi"]
        #expect(try audit([releases.v2] + named).0.status == 0)
        let (old, oldFindings) = try audit(["\(releases.v1).intoto.json"] + named)
        #expect(
            old.status == 1 && oldFindings["site/team/app:1.4.2"]?["signed"] as? Bool == false
                && oldFindings["site/team/multi:1.4.2"]?["signed"] as? Bool == true,
            "\(oldFindings)"
        )
        // The moved tag is shown beside what release 1 signed under that name.
        let inspected = try Harness.airlock(["inspect", releases.v1, "--output", "json"], in: root)
        let v1Images = (try JSONSerialization.jsonObject(with: inspected.data) as? [String: Any])?["images"] as? [[String: Any]] ?? []
        let v1App = v1Images.first { $0["name"] as? String == "registry.example.com/team/app:1.4.2" }?["digest"] as? String
        let signedAs = oldFindings["site/team/app:1.4.2"]?["signedAs"] as? [[String: Any]] ?? []
        #expect(
            v1App != nil && v1App != appDigest && signedAs.count == 1
                && signedAs.first?["name"] as? String == "registry.example.com/team/app:1.4.2"
                && signedAs.first?["digest"] as? String == v1App,
            "\(signedAs) \(v1App ?? "?")"
        )
        #expect(oldFindings["site/stray/worker:1"] == nil, "only the repositories named")

        // What the pods report: a platform manifest inside the multi-arch index counts; the stray does not.
        let running = """
            # kubectl get pods -A -o jsonpath=...imageID
            docker-pullable://\(registry.host)/site/team/app@\(appDigest)
            \(registry.host)/site/team/multi@\(try digest("site/team/multi:1.4.2", index: 0))
            \(try digest("site/stray/worker:1"))
            """
        let (pods, podFindings) = try audit([releases.v2, "--images", "-"], stdin: Data(running.utf8))
        #expect(pods.status == 1 && podFindings.count == 3, "\(pods.stdout) \(pods.stderr)")
        #expect(podFindings["\(registry.host)/site/team/app@\(appDigest)"]?["signed"] as? Bool == true, "\(podFindings)")
        #expect(
            podFindings.values.first { ($0["reference"] as? String ?? "").contains("multi") }?["what"] as? String
                == "a manifest inside an image"
        )

        // kubectl get pods -A -o json as it is (trimmed to the fields read; written here, no cluster runs in the
        // tests): each container named namespace/pod/container, init containers too; a pending one is refused.
        func pod(_ name: String, containers: [(String, String, String)], initContainers: [(String, String, String)] = []) -> [String: Any] {
            func statuses(_ list: [(String, String, String)]) -> [[String: Any]] {
                list.map { ["name": $0.0, "image": $0.1, "imageID": $0.2, "ready": true, "restartCount": 0] }
            }
            return [
                "apiVersion": "v1", "kind": "Pod", "metadata": ["name": name, "namespace": "prod", "uid": UUID().uuidString],
                "spec": ["containers": containers.map { ["name": $0.0, "image": $0.1] }],
                "status": [
                    "phase": "Running", "containerStatuses": statuses(containers), "initContainerStatuses": statuses(initContainers),
                ],
            ]
        }
        let pulled = "docker-pullable://\(registry.host)/site/team/app@\(appDigest)"
        let list: [String: Any] = [
            "apiVersion": "v1", "kind": "List", "metadata": ["resourceVersion": ""],
            "items": [
                pod(
                    "web-7d9f",
                    containers: [("app", "\(registry.host)/site/team/app:1.4.2", pulled)],
                    initContainers: [
                        (
                            "setup", "\(registry.host)/site/stray/worker:1",
                            "docker-pullable://\(registry.host)/site/stray/worker@\(try digest("site/stray/worker:1"))"
                        )
                    ]
                ),
                pod("batch-1", containers: [("job", "\(registry.host)/site/team/app:1.4.2", "containerd://" + appDigest)]),
            ],
        ]
        let (cluster, clusterFindings) = try audit([releases.v2, "--images", "-"], stdin: try JSONSerialization.data(withJSONObject: list))
        #expect(cluster.status == 1 && clusterFindings.count == 3, "\(cluster.stdout) \(cluster.stderr)")
        #expect(
            clusterFindings["prod/web-7d9f/app (\(registry.host)/site/team/app:1.4.2)"]?["signed"] as? Bool == true,
            "\(clusterFindings.keys.sorted())"
        )
        #expect(clusterFindings["prod/batch-1/job (\(registry.host)/site/team/app:1.4.2)"]?["signed"] as? Bool == true)
        #expect(clusterFindings["prod/web-7d9f/setup (\(registry.host)/site/stray/worker:1)"]?["signed"] as? Bool == false)
        let pending = pod("new-1", containers: [("app", "nginx:1.27", "")])
        let (notYet, _) = try audit(
            [releases.v2, "--images", "-"],
            stdin: try JSONSerialization.data(withJSONObject: ["kind": "List", "items": [pending]])
        )
        #expect(notYet.status == 2 && notYet.stderr.contains("prod/new-1/app (nginx:1.27) reports no image digest yet"), "\(notYet.stderr)")

        // Bad input: a line without a digest (exit 2); an altered envelope or a stranger's key (exit 1).
        let (tagOnly, _) = try audit([releases.v2, "--images", "-"], stdin: Data("nginx:1.27\n".utf8))
        #expect(tagOnly.status == 2 && tagOnly.stderr.contains("stdin:1: \"nginx:1.27\" has no sha256 digest"), "\(tagOnly.stderr)")
        var envelope = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(releases.v1).intoto.json"))) as? [String: Any]
        )
        let payload = try #require(Data(base64Encoded: envelope["payload"] as? String ?? ""))
        let altered = String(decoding: payload, as: UTF8.self).replacingOccurrences(
            of: "\"version\":\"1.4.2\"",
            with: "\"version\":\"1.4.3\""
        )
        #expect(altered != String(decoding: payload, as: UTF8.self))
        envelope["payload"] = Data(altered.utf8).base64EncodedString()
        try JSONSerialization.data(withJSONObject: envelope).write(to: URL(fileURLWithPath: "\(root)/altered.intoto.json"))
        let (tampered, _) = try audit(["\(root)/altered.intoto.json"] + named)
        #expect(tampered.status == 1 && tampered.stderr.contains("altered.intoto.json"), "\(tampered.stderr)")
        #expect(try Harness.airlock(["key", "generate", "--out", "stranger"], in: root).status == 0)
        let stranger = try Harness.airlock(
            ["audit", releases.v2, "--key", "stranger.pub"] + named + ["--plain-http", registry.host],
            in: root
        )
        #expect(stranger.status == 1 && stranger.stderr.contains("unknown key"), "\(stranger.stderr)")
        let nothing = try Harness.airlock(["audit", releases.v2, "--key", "signer.pub"], in: root)
        #expect(nothing.status == 2 && nothing.stderr.contains("--registry HOST[/PREFIX] and/or --images FILE"), "\(nothing.stderr)")
    }
}
