import Foundation
import TestSupport
import Testing

/// The operator's push into the private registry: a real `docker-registry` on loopback, checked
/// with skopeo as the independent client.
@Suite(.removesTemporaryFolders, .needs(.dockerRegistry, .skopeo, .htpasswd, .zstd, .python3, .openssl))
struct PushJourneyTests {
    @Test func everyImageAndChartArrivesByteForByteAndASecondPushSendsNothing() throws {
        let registry = try TestRegistry(tls: false)
        defer { registry.stop() }
        let packed = try PackedExample.make()
        let dir = packed.example
        let push = try Harness.airlock(
            [
                "push", packed.bundle, "--registry", "\(registry.host)/mirror", "--plain-http", registry.host,
                "--key", "signer.pub", "--config-dir", "cfg", "--output", "json",
            ],
            in: dir
        )
        try #require(push.status == 0, "push: \(push.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: push.data) as? [String: Any])
        let images = try #require(report["images"] as? [[String: String]])
        #expect(images.count == 4)
        for image in images {
            let target = try #require(image["target"])
            let raw = try Harness.run(["skopeo", "inspect", "--raw"] + registry.skopeoFlags + ["docker://\(target)"])
            #expect(raw.status == 0, "\(target): \(raw.stderr)")
            let digest = try Harness.run(["sha256sum"], stdin: raw.data).stdout.prefix(64)
            #expect("sha256:\(digest)" == image["digest"], "\(target): bytes changed")
            if image["kind"] == "chart" {
                let manifest = try #require(try JSONSerialization.jsonObject(with: raw.data) as? [String: Any])
                #expect((manifest["config"] as? [String: Any])?["mediaType"] as? String == "application/vnd.cncf.helm.config.v1+json")
                let layer = (manifest["layers"] as? [[String: Any]])?.first
                #expect(layer?["mediaType"] as? String == "application/vnd.cncf.helm.chart.content.v1.tar+gzip")
                #expect(target.hasSuffix("/mirror/charts/platform:1.4.2"))
            } else {
                let copy = try Harness.run(
                    ["skopeo", "copy", "--quiet", "--all"] + (registry.tls ? [] : ["--src-tls-verify=false"])
                        + ["docker://\(target)", "oci:\(packed.root)/pulled:\(UUID().uuidString.prefix(6))"]
                )
                #expect(copy.status == 0, "\(target): \(copy.stderr)")
            }
        }
        #expect(
            images.contains {
                $0["source"] == "registry.example.com/team/app:1.4.2" && $0["target"] == "\(registry.host)/mirror/team/app:1.4.2"
            }
        )

        let again = try Harness.airlock(
            [
                "push", packed.bundle, "--registry", "\(registry.host)/mirror", "--plain-http", registry.host,
                "--key", "signer.pub", "--config-dir", "cfg", "--output", "json",
            ],
            in: dir
        )
        try #require(again.status == 0, "\(again.stderr)")
        let second = try #require(try JSONSerialization.jsonObject(with: again.data) as? [String: Any])
        let blobs = try #require(second["blobs"] as? [String: Any])
        #expect(blobs["bytesSent"] as? Int == 0 && blobs["uploaded"] as? Int == 0)
        #expect(second["manifestsPushed"] as? Int == 0)

        // An unpacked folder pushes the same content.
        #expect(try Harness.airlock(["unpack", packed.bundle, "-o", "unpacked", "--key", "signer.pub"], in: dir).status == 0)
        let fromFolder = try Harness.airlock(
            [
                "push", "unpacked", "--registry", "\(registry.host)/folder", "--plain-http", registry.host,
                "--key", "signer.pub", "--config-dir", "cfg2", "--output", "json",
            ],
            in: dir
        )
        try #require(fromFolder.status == 0, "\(fromFolder.stderr)")
        let folderReport = try #require(try JSONSerialization.jsonObject(with: fromFolder.data) as? [String: Any])
        #expect(
            Set((folderReport["images"] as? [[String: String]] ?? []).compactMap { $0["digest"] })
                == Set(images.compactMap { $0["digest"] })
        )
        #expect((folderReport["blobs"] as? [String: Any])?["mounted"] as? Int ?? 0 > 0, "blobs already in the registry are mounted")

        // Chunked uploads (PATCH with Content-Range) for proxies that limit body size.
        let chunked = try Harness.airlock(
            [
                "push", packed.bundle, "--registry", "\(registry.host)/chunked", "--plain-http", registry.host,
                "--key", "signer.pub", "--config-dir", "cfg3", "--chunk-size", "4096", "--output", "json",
            ],
            in: dir
        )
        try #require(chunked.status == 0, "\(chunked.stderr)")
        let app = try Harness.run(["skopeo", "inspect", "--raw", "--tls-verify=false", "docker://\(registry.host)/chunked/team/app:1.4.2"])
        let appDigest = try Harness.run(["sha256sum"], stdin: app.data).stdout.prefix(64)
        #expect(images.contains { $0["digest"] == "sha256:\(appDigest)" })
        let pulled = try Harness.run([
            "skopeo", "copy", "--quiet", "--src-tls-verify=false", "docker://\(registry.host)/chunked/team/app:1.4.2",
            "oci:\(packed.root)/chunked:app",
        ])
        #expect(pulled.status == 0, "\(pulled.stderr)")

        try checkMirrorConfigs("\(dir)/cfg", registry: registry)
    }

    private func checkMirrorConfigs(_ folder: String, registry: TestRegistry) throws {
        let check = try Harness.run([
            "python3", "-c",
            """
            import sys, tomllib, yaml
            folder, host = sys.argv[1], sys.argv[2]
            hosts = tomllib.load(open(folder + "/containerd/certs.d/registry.example.com/hosts.toml", "rb"))
            assert hosts["server"] == "https://registry.example.com", hosts
            mirror = hosts["host"]["http://%s/v2/mirror" % host]
            assert mirror["capabilities"] == ["pull", "resolve"] and mirror["override_path"] is True, mirror
            conf = tomllib.load(open(folder + "/containers/registries.conf", "rb"))
            assert conf["registry"] == [{"prefix": "registry.example.com", "location": host + "/mirror", "insecure": True}], conf
            k3s = yaml.safe_load(open(folder + "/k3s/registries.yaml"))
            entry = k3s["mirrors"]["registry.example.com"]
            assert entry["endpoint"] == ["http://" + host] and entry["rewrite"] == {"^(.*)$": "mirror/$1"}, k3s
            print("ok")
            """, folder, registry.host,
        ])
        #expect(check.status == 0 && check.stdout.hasPrefix("ok"), "mirror configs: \(check.stderr)")
        let mapping = try String(contentsOfFile: "\(folder)/mapping.txt", encoding: .utf8)
        #expect(mapping.contains("registry.example.com/team/multi:1.4.2 -> \(registry.host)/mirror/team/multi:1.4.2@sha256:"))
        // A real client follows the containers config to the mirror.
        let viaMirror = try Harness.run([
            "skopeo", "--registries-conf", "\(folder)/containers/registries.conf", "inspect", "--raw",
            "docker://registry.example.com/team/multi:1.4.2",
        ])
        #expect(viaMirror.status == 0, "\(viaMirror.stderr)")
        let digest = try Harness.run(["sha256sum"], stdin: viaMirror.data).stdout.prefix(64)
        #expect(mapping.contains("registry.example.com/team/multi:1.4.2 -> \(registry.host)/mirror/team/multi:1.4.2@sha256:\(digest)"))
    }

    @Test func renamingRulesMoveRepositoriesAndJSONProgressIsOneEventPerLine() throws {
        let registry = try TestRegistry(tls: false)
        defer { registry.stop() }
        let packed = try PackedExample.make()
        try "rules:\n  - match: registry.example.com/team/\n    replace: platform/\n  - match: charts/\n    replace: helm/\n"
            .write(toFile: "\(packed.example)/rules.yaml", atomically: true, encoding: .utf8)
        let push = try Harness.airlock(
            [
                "push", packed.bundle, "--registry", "\(registry.host)/site", "--plain-http", registry.host,
                "--key", "signer.pub", "--rules", "rules.yaml", "--config-dir", "cfg", "--output", "json",
            ],
            in: packed.example
        )
        try #require(push.status == 0, "\(push.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: push.data) as? [String: Any])
        let targets = Set((report["images"] as? [[String: String]] ?? []).compactMap { $0["target"] })
        #expect(targets.contains("\(registry.host)/site/platform/app:1.4.2"))
        #expect(targets.contains("\(registry.host)/site/helm/platform:1.4.2"))
        #expect(try registry.tags("site/platform/multi") == ["1.4.2"])
        let events = push.stderr.split(separator: "\n").map { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(!events.isEmpty && events.allSatisfy { $0?["event"] != nil }, "JSON lines: \(push.stderr)")
        #expect(events.contains { $0?["event"] as? String == "blob" && $0?["outcome"] as? String == "uploaded" })
        let conf = try String(contentsOfFile: "\(packed.example)/cfg/containers/registries.conf", encoding: .utf8)
        #expect(conf.contains("prefix = \"registry.example.com/team\"\nlocation = \"\(registry.host)/site/platform\""), "\(conf)")
        let bad = try Harness.airlock(
            [
                "push", packed.bundle, "--registry", registry.host, "--plain-http", registry.host, "--key", "signer.pub",
                "--rules", "airlock.yaml", "-q",
            ],
            in: packed.example
        )
        #expect(bad.status == 2 && bad.stderr.contains("airlock.yaml:1: unknown key \"apiVersion\""), "\(bad.stderr)")
    }

    @Test func anInterruptedPushResumesWithoutResendingWhatArrived() throws {
        let registry = try TestRegistry(tls: false)
        defer { registry.stop() }
        let packed = try PackedExample.make(layerMB: 48)
        let arguments = [
            Harness.airlock, "push", packed.bundle, "--registry", registry.host, "--plain-http", registry.host,
            "--key", "signer.pub", "--jobs", "1", "--config-dir", "cfg", "-q",
        ]
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: packed.example)
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        registry.kill(afterFirstBlobOf: process)  // once the first (largest) blob has been committed
        let arrived = registry.linkedBlobs()
        #expect(!arrived.isEmpty, "a blob should have arrived before the kill")
        #expect(
            process.terminationStatus == 3,
            "the cut push exits 3: \(String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))"
        )

        try registry.start()
        let resume = try Harness.airlock(Array(arguments.dropFirst()) + ["--output", "json"], in: packed.example)
        try #require(resume.status == 0, "resume: \(resume.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: resume.data) as? [String: Any])
        let blobs = try #require(report["blobs"] as? [String: Any])
        let resent = Set((blobs["uploadedDigests"] as? [String] ?? []).map { String($0.dropFirst("sha256:".count)) })
        #expect(resent.isDisjoint(with: arrived), "re-sent blobs that had arrived: \(resent.intersection(arrived))")
        #expect(blobs["present"] as? Int ?? 0 >= arrived.count)
        #expect(blobs["retried"] as? Int != nil, "the summary counts retries")
        for image in report["images"] as? [[String: String]] ?? [] where image["kind"] == "image" {
            let target = try #require(image["target"])
            let copy = try Harness.run([
                "skopeo", "copy", "--quiet", "--all", "--src-tls-verify=false", "docker://\(target)",
                "oci:\(packed.root)/pulled:\(UUID().uuidString.prefix(6))",
            ])
            #expect(copy.status == 0, "\(target): \(copy.stderr)")
        }
    }

    /// A registry killed while it links a blob can be left with an empty link file, for which
    /// docker-registry answers HEAD with 500 from then on. The next push uploads that blob again,
    /// which rewrites the link, instead of stopping at the check.
    @Test func aBlobLinkEmptiedByARegistryCrashIsRepairedByTheNextPush() throws {
        let registry = try TestRegistry(tls: false)
        defer { registry.stop() }
        let packed = try PackedExample.make()
        let arguments = [
            "push", packed.bundle, "--registry", registry.host, "--plain-http", registry.host, "--key", "signer.pub",
            "--config-dir", "cfg", "-q", "--output", "json",
        ]
        let first = try Harness.airlock(arguments, in: packed.example)
        try #require(first.status == 0, "\(first.stderr)")

        let base = "\(registry.root)/data/docker/registry/v2/repositories"
        let links = try Harness.run([
            "sh", "-c", "cd \(base) && find . -path '*/_layers/sha256/*/link' -not -path './airlock/*' | sort | head -1",
        ])
        let link = String(try #require(links.stdout.split(separator: "\n").first))
        let parts = link.split(separator: "/")
        let repository = parts.dropFirst().prefix(parts.count - 5).joined(separator: "/")
        let digest = "sha256:" + parts[parts.count - 2]
        try Data().write(to: URL(fileURLWithPath: "\(base)/\(link)"))
        func headStatus() throws -> String {
            try Harness.run([
                "python3", "-c",
                """
                import sys, urllib.request, urllib.error
                try:
                    print(urllib.request.urlopen(urllib.request.Request(sys.argv[1], method="HEAD")).status)
                except urllib.error.HTTPError as error:
                    print(error.code)
                """, "http://\(registry.host)/v2/\(repository)/blobs/\(digest)",
            ]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        #expect(try headStatus() == "500", "docker-registry answers HEAD of a blob with an empty link with 500")

        let second = try Harness.airlock(arguments, in: packed.example)
        try #require(second.status == 0, "\(second.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: second.data) as? [String: Any])
        let uploaded = (report["blobs"] as? [String: Any])?["uploadedDigests"] as? [String] ?? []
        #expect(try headStatus() == "200", "the link is whole again")
        #expect(uploaded.allSatisfy { $0 == digest }, "only the blob with the broken link is sent again: \(uploaded)")
        for image in report["images"] as? [[String: String]] ?? [] where image["kind"] == "image" {
            let target = try #require(image["target"])
            let copy = try Harness.run([
                "skopeo", "copy", "--quiet", "--all", "--src-tls-verify=false", "docker://\(target)",
                "oci:\(packed.root)/repaired:\(UUID().uuidString.prefix(6))",
            ])
            #expect(copy.status == 0, "\(target): \(copy.stderr)")
        }
    }

    @Test func aTamperedLayerPushesNoManifestAndNamesTheImageAndBlob() throws {
        let registry = try TestRegistry(tls: false)
        defer { registry.stop() }
        let packed = try PackedExample.make()
        let digest = try packed.flipAByteOfTheLargestStoredLayer()
        let push = try Harness.airlock(
            [
                "push", packed.bundle, "--registry", registry.host, "--plain-http", registry.host,
                "--key", "signer.pub", "-q",
            ],
            in: packed.example
        )
        #expect(push.status == 1, "\(push.stderr)")
        let owner = push.stderr.contains("image registry.example.com/team/") || push.stderr.contains("chart charts/platform:1.4.2")
        #expect(owner && push.stderr.contains("blob sha256:\(digest) does not match its signed digest"), "\(push.stderr)")
        #expect(push.stderr.split(separator: "\n").count == 1, "\(push.stderr)")
        for repository in ["team/app", "team/multi", "team/worker", "charts/platform"] {
            #expect(try registry.tags(repository).isEmpty, "\(repository) got a tag")
        }
        #expect(!registry.storedBlobs().contains(digest))
    }

    @Test func wrongKeyBadPasswordAndUnknownCAFailBeforeAnyUpload() throws {
        let registry = try TestRegistry(tls: true)
        defer { registry.stop() }
        let packed = try PackedExample.make()
        let dir = packed.example
        let config = ["DOCKER_CONFIG": "\(packed.root)/docker"]
        let target = ["--registry", "\(registry.host)/secure", "--config-dir", "cfg", "-q"]

        #expect(try Harness.airlock(["key", "generate", "--out", "stranger"], in: dir).status == 0)
        let wrongKey = try Harness.airlock(
            ["push", packed.bundle, "--key", "stranger.pub", "--ca-file", registry.caFile] + target,
            in: dir,
            environment: config
        )
        #expect(wrongKey.status == 1)
        #expect(wrongKey.stderr.contains("signed only by unknown key"), "\(wrongKey.stderr)")

        let badLogin = try Harness.run(
            [
                Harness.airlock, "login", registry.host, "-u", TestRegistry.username, "--password-stdin",
                "--ca-file", registry.caFile,
            ],
            in: dir,
            environment: config,
            stdin: Data("wrong\n".utf8)
        )
        #expect(badLogin.status == 3)
        #expect(badLogin.stderr.contains("refused the credentials") && !badLogin.stderr.contains("wrong"), "\(badLogin.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(packed.root)/docker/config.json"), "failed login stores nothing")

        let noCredentials = try Harness.airlock(
            ["push", packed.bundle, "--key", "signer.pub", "--ca-file", registry.caFile] + target,
            in: dir,
            environment: config
        )
        #expect(noCredentials.status == 3)
        #expect(noCredentials.stderr.contains("airlock login \(registry.host)"), "\(noCredentials.stderr)")

        let login = try Harness.run(
            [
                Harness.airlock, "login", registry.host, "-u", TestRegistry.username, "--password-stdin",
                "--ca-file", registry.caFile,
            ],
            in: dir,
            environment: config,
            stdin: Data((TestRegistry.password + "\n").utf8)
        )
        #expect(login.status == 0, "\(login.stderr)")

        let unknownCA = try Harness.airlock(["push", packed.bundle, "--key", "signer.pub"] + target, in: dir, environment: config)
        #expect(unknownCA.status == 3)
        #expect(unknownCA.stderr.contains("--ca-file"), "\(unknownCA.stderr)")
        #expect(registry.storedBlobs().isEmpty, "nothing was uploaded by the failed attempts")

        let good = try Harness.airlock(
            ["push", packed.bundle, "--key", "signer.pub", "--ca-file", registry.caFile, "--output", "json"] + target,
            in: dir,
            environment: config
        )
        try #require(good.status == 0, "\(good.stderr)")
        let raw = try Harness.run(
            ["skopeo", "inspect", "--raw"] + registry.skopeoFlags + ["docker://\(registry.host)/secure/team/app:1.4.2"]
        )
        #expect(raw.status == 0, "\(raw.stderr)")
    }
}
