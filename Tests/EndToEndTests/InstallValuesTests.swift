import Foundation
import TestSupport
import Testing

/// `airlock values`: after a push into the real docker-registry, the site file and the vendor's
/// install-values template (scripts/make-example.py --install, which uses every site fact) give
/// the values `helm install` takes; real Helm v4 (helm-python-sdk) renders the chart with them and
/// names exactly the images push put in the registry; `--check` fails on an image deleted from the
/// registry and passes once it is pushed again. No credential ever reaches a generated file.
@Suite(.removesTemporaryFolders, .needs(.dockerRegistry, .python3, .openssl), .enabled(if: ChartOracle.available))
struct InstallValuesTests {
    static let token = "llm-token-3f9a0c"
    static let gatewayKey = "gateway-key-81c2d7"
    /// The credentials exist on this machine as the endpoint reads them outside Kubernetes.
    static let environment = ["LLM_TOKEN": token, "GATEWAY_KEY": gatewayKey]

    struct Pushed {
        let root: String
        let example: String
        let registry: TestRegistry
        var plainHTTP: [String] { ["--plain-http", registry.host] }
    }

    /// The example with the vendor's template, packed, signed and pushed under `mirror`.
    private func pushedExample(install: Bool = true) throws -> Pushed {
        let root = try Harness.temporaryDirectory("values")
        let example = try Harness.makeExample(in: root, dockerArchive: false, install: install)
        #expect(try Harness.airlock(["key", "generate", "--out", "signer"], in: example).status == 0)
        let pack = try Harness.airlock(["pack", "--key", "signer.key", "-q"], in: example)
        try #require(pack.status == 0, "pack: \(pack.stderr)")
        let registry = try TestRegistry(tls: false, deleteEnabled: true)
        let push = try Harness.airlock(
            [
                "push", "platform-1.4.2.tar.zst", "--key", "signer.pub", "--registry", "\(registry.host)/mirror", "--plain-http",
                registry.host, "--config-dir", "push-out", "-q",
            ],
            in: example
        )
        try #require(push.status == 0, "push: \(push.stderr)")
        return Pushed(root: root, example: example, registry: registry)
    }

    private func writeSite(_ pushed: Pushed, registryLine: String? = nil, extra: String = "") throws {
        #expect(try Harness.run(["cp", "\(pushed.example)/endpoints/ca/corp-root.pem", "\(pushed.example)/site-ca.pem"]).status == 0)
        try """
        apiVersion: airlock/v1
        kind: Site
        metadata: {name: plant-7}
        spec:
          \(registryLine ?? "registry: \(pushed.registry.host)/mirror")
          namespace: triage
          proxy:
            httpProxy: "http://proxy.plant7.internal:3128"
            httpsProxy: "http://proxy.plant7.internal:3128"
            noProxy: [.plant7.internal]
          caFiles: [./site-ca.pem]
          caConfigMap: plant-ca
          secrets:
            - endpoint: triage-llm
              auth: {name: llm-gateway, key: token}
              headers:
                X-Gateway-Key: {name: llm-gateway, key: gateway-key}
        \(extra)
        """.write(toFile: "\(pushed.example)/site.yaml", atomically: true, encoding: .utf8)
    }

    private func values(_ pushed: Pushed, _ extra: [String] = [], site: String = "site.yaml") throws -> Harness.Output {
        try Harness.airlock(
            ["values", "platform-1.4.2.tar.zst", "--site", site, "--key", "signer.pub", "-o", "values"] + pushed.plainHTTP + extra,
            in: pushed.example,
            environment: Self.environment
        )
    }

    /// Target → digest of every image push wrote to mapping.json.
    private func pushedImages(_ pushed: Pushed) throws -> Set<String> {
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(pushed.example)/push-out/mapping.json"))
        let mappings = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: String]])
        return Set(
            mappings.filter { $0["kind"] == "image" }.compactMap { mapping in
                guard let target = mapping["target"], let digest = mapping["digest"] else { return nil }
                return String(target[..<(target.lastIndex(of: ":") ?? target.endIndex)]) + "@" + digest
            }
        )
    }

    @Test func theVendorsTemplateFilledWithTheSiteInstallsExactlyThePushedImages() throws {
        let pushed = try pushedExample()
        defer { pushed.registry.stop() }
        try writeSite(pushed)
        let run = try values(pushed, ["--check", "--output", "json"])
        try #require(run.status == 0, "values --check: \(run.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: run.data) as? [String: Any])
        #expect(report["ok"] as? Bool == true)
        #expect((report["check"] as? [[String: Any]])?.count == 2, "both images the chart renders were looked up: \(report)")
        let folder = "\(pushed.example)/values"
        #expect(
            Set(try FileManager.default.contentsOfDirectory(atPath: folder))
                == ["platform.values.yaml", "ca-configmap.yaml", "secrets-needed.txt"]
        )

        // Every fact reached the values.
        let text = try String(contentsOfFile: "\(folder)/platform.values.yaml", encoding: .utf8)
        let host = pushed.registry.host
        for expected in [
            "repository: \"\(host)/mirror/team/app\"", "tag: \"1.4.2\"", "address: \"\(host)/mirror\"",
            "chart: \"oci://\(host)/mirror/charts/platform\"", "namespace: triage", "bundle: \"platform-1.4.2\"",
            "httpsProxy: \"http://proxy.plant7.internal:3128\"", "noProxy: \".plant7.internal\"", "configMap: plant-ca",
            "key: ca-bundle.crt", "files: [\"site-ca.pem\", \"triage-llm.ca.pem\"]", "baseURL: \"https://llm-gateway.corp.internal/v1\"",
            "header: \"Authorization\"", "secretRef: {name: llm-gateway, key: token}", "secretRef: {name: llm-gateway, key: gateway-key}",
            "value: \"secops\"",
        ] {
            #expect(text.contains(expected), "\(expected) in:\n\(text)")
        }
        let configMap = try String(contentsOfFile: "\(folder)/ca-configmap.yaml", encoding: .utf8)
        #expect(configMap.contains("name: plant-ca") && configMap.contains("namespace: triage"))
        #expect(configMap.components(separatedBy: "BEGIN CERTIFICATE").count == 3, "the site's CA and the endpoint's")
        let secrets = try String(contentsOfFile: "\(folder)/secrets-needed.txt", encoding: .utf8)
        #expect(secrets.contains("llm-gateway\ttoken\tendpoint triage-llm, auth"))
        #expect(secrets.contains("llm-gateway\tgateway-key\tendpoint triage-llm, header X-Gateway-Key"))

        // Real Helm v4 installs with exactly the images push put in the registry.
        let helm = try Harness.run([
            ChartRenderingTests.python, "\(Harness.packageRoot)/Tests/Fixtures/helm-oracle.py", "images",
            "\(pushed.example)/charts/platform", "\(folder)/platform.values.yaml", "triage",
        ])
        try #require(helm.status == 0, "helm: \(helm.stderr)")
        let rendered = Set(try #require(try JSONSerialization.jsonObject(with: helm.data) as? [String]))
        #expect(rendered == (try pushedImages(pushed)), "Helm renders \(rendered)")

        // From the unpacked folder: the same values.
        let unpacked = try Harness.airlock(
            ["unpack", "platform-1.4.2.tar.zst", "-o", "unpacked", "--key", "signer.pub"],
            in: pushed.example
        )
        try #require(unpacked.status == 0, "\(unpacked.stderr)")
        let fromFolder = try Harness.airlock(
            ["values", "unpacked", "--site", "site.yaml", "--key", "signer.pub", "-o", "values-dir"],
            in: pushed.example,
            environment: Self.environment
        )
        #expect(fromFolder.status == 0, "\(fromFolder.stderr)")
        #expect(try String(contentsOfFile: "\(pushed.example)/values-dir/platform.values.yaml", encoding: .utf8) == text)

        // No credential anywhere: not in the files, not in the output.
        let everything =
            try FileManager.default.contentsOfDirectory(atPath: folder).map {
                try String(contentsOfFile: "\(folder)/\($0)", encoding: .utf8)
            }.joined() + run.stdout + run.stderr
        for secret in [Self.token, Self.gatewayKey] { #expect(!everything.contains(secret)) }
    }

    @Test func checkNamesTheImageThatWouldFailAndPassesOncePushed() throws {
        let pushed = try pushedExample()
        defer { pushed.registry.stop() }
        // From push's mapping.json instead of the registry's address: the same values.
        try writeSite(pushed, registryLine: "mapping: ./push-out/mapping.json")
        let multi = try #require((try pushedImages(pushed)).first { $0.contains("/mirror/team/multi@") })
        let digest = String(multi[multi.index(after: multi.firstIndex(of: "@")!)...])
        let deleted = try Harness.run([
            "python3", "-c",
            "import sys, urllib.request; print(urllib.request.urlopen(urllib.request.Request(sys.argv[1], method='DELETE')).status)",
            "http://\(pushed.registry.host)/v2/mirror/team/multi/manifests/\(digest)",
        ])
        #expect(deleted.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "202", "the registry deleted the sidecar's image")

        let failing = try values(pushed, ["--check"])
        #expect(failing.status == 1, "values --check: \(failing.stderr)")
        #expect(failing.stdout.contains("FAILED platform: \(multi)"), "\(failing.stdout)")
        #expect(failing.stdout.contains("push the bundle that carries registry.example.com/team/multi:1.4.2"))
        #expect(failing.stdout.contains("ok     platform: \(pushed.registry.host)/mirror/team/app@"))
        #expect(
            failing.stderr.split(separator: "\n").last?.contains("1 image(s) the charts render are not in") == true,
            "\(failing.stderr)"
        )
        #expect(FileManager.default.fileExists(atPath: "\(pushed.example)/values/platform.values.yaml"), "the values are still written")

        let again = try Harness.airlock(
            [
                "push", "platform-1.4.2.tar.zst", "--key", "signer.pub", "--registry", "\(pushed.registry.host)/mirror", "--plain-http",
                pushed.registry.host, "-q", "--config-dir", "push-again",
            ],
            in: pushed.example
        )
        try #require(again.status == 0, "\(again.stderr)")
        let passing = try values(pushed, ["--check"])
        #expect(passing.status == 0, "values --check after the push: \(passing.stderr)")
        #expect(passing.stdout.contains("every image the charts render (2) is in \(pushed.registry.host)/mirror"))
    }

    @Test func aChartWithoutATemplateGetsTheGenericOverlayAndCheckSaysWhatItMisses() throws {
        let pushed = try pushedExample(install: false)
        defer { pushed.registry.stop() }
        try writeSite(pushed)
        let run = try values(pushed, ["--check"])
        #expect(run.stderr.contains("warning: chart platform 1.4.2 has no installValues template"), "\(run.stderr)")
        let overlay = try String(contentsOfFile: "\(pushed.example)/values/platform.values.yaml", encoding: .utf8)
        #expect(overlay.contains("global:\n  imageRegistry: \(pushed.registry.host)/mirror\n"), "\(overlay)")
        // The example chart ignores global.imageRegistry: --check catches it before helm install.
        #expect(run.status == 1)
        #expect(
            run.stdout.contains(
                "FAILED platform: registry.example.com/team/app:1.4.2  not from the private registry \(pushed.registry.host)"
            ),
            "\(run.stdout)"
        )
    }

    @Test func theSiteFileNamesSecretsAndNeverHoldsThem() throws {
        let pushed = try pushedExample()
        defer { pushed.registry.stop() }
        let cases: [(label: String, edit: (String) -> String, expected: String, secret: String?)] = [
            (
                "a literal credential",
                { $0.replacingOccurrences(of: "auth: {name: llm-gateway, key: token}", with: "auth: \(Self.token)") },
                "literal credentials are refused", Self.token
            ),
            (
                "a literal under value",
                {
                    $0.replacingOccurrences(of: "{name: llm-gateway, key: gateway-key}", with: "{value: \(Self.gatewayKey)}")
                }, "literal credentials are refused", Self.gatewayKey
            ),
            (
                "a password in the proxy URL",
                {
                    $0.replacingOccurrences(of: "httpProxy: \"http://proxy", with: "httpProxy: \"http://ops:pr0xy-secret-9d2@proxy")
                }, "credentials in a proxy URL are refused", "pr0xy-secret-9d2"
            ),
            (
                "no secret for a credential",
                {
                    $0.replacingOccurrences(of: "      auth: {name: llm-gateway, key: token}\n", with: "")
                }, "endpoint triage-llm reads a credential from env LLM_TOKEN, and no Kubernetes secret holds it", nil
            ),
            (
                "no registry", { $0.replacingOccurrences(of: "  registry: \(pushed.registry.host)/mirror\n", with: "") }, "give registry:",
                nil
            ),
        ]
        try writeSite(pushed)
        let good = try String(contentsOfFile: "\(pushed.example)/site.yaml", encoding: .utf8)
        for (label, edit, expected, secret) in cases {
            let edited = edit(good)
            #expect(edited != good, "\(label): the edit applied")
            try edited.write(toFile: "\(pushed.example)/bad-site.yaml", atomically: true, encoding: .utf8)
            let run = try values(pushed, site: "bad-site.yaml")
            #expect(run.status == 2, "\(label): \(run.stderr)")
            #expect(run.stderr.contains(expected), "\(label): \(run.stderr)")
            #expect(run.stderr.split(separator: "\n").count == 1, "\(label): one line")
            if let secret { #expect(!(run.stdout + run.stderr).contains(secret), "\(label): the secret is not repeated") }
            #expect(!FileManager.default.fileExists(atPath: "\(pushed.example)/values"), "\(label): nothing written")
        }
    }
}
