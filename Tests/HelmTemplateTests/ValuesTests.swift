import HelmTemplate
import Testing

/// Helm's value handling and error reporting, on charts built in memory. The expected outputs were
/// checked against real Helm v4 rendering the same charts (Tests/Fixtures/charts/umbrella is the
/// same tree).
struct ValuesTests {
    /// An umbrella chart: `sub` vendored as a folder and aliased `db` (condition db.enabled,
    /// import-values), `other` switched by tags.
    static func umbrella() throws -> HelmChart {
        let files: [String: String] = [
            "Chart.yaml": """
            apiVersion: v2
            name: umb
            version: 0.1.0
            dependencies:
              - {name: sub, version: "~1.0.0", repository: "https://example.invalid/charts", alias: db, condition: db.enabled,
                 import-values: [{child: exported, parent: fromdb}]}
              - {name: other, version: ">=2.0.0", repository: "file://charts/other", tags: [extras]}
            """,
            "values.yaml": "global: {registry: reg.example}\na: {b: 1, c: 2}\ndb: {x: 1, enabled: true}\ntags: {extras: true}\n",
            "templates/t.yaml":
                "a: {{ toJson .Values.a }}\nfromdb: {{ toJson .Values.fromdb }}\nsubcharts: {{ keys .Subcharts | sortAlpha | toJson }}\n",
            "charts/sub/Chart.yaml": "apiVersion: v2\nname: sub\nversion: 1.0.3\nappVersion: \"9.1\"\n",
            "charts/sub/values.yaml": "x: 0\nz: 2\nexported: {k: v}\n",
            "charts/sub/templates/v.yaml":
                "name: {{ .Chart.Name }}\nx: {{ .Values.x }}\nz: {{ .Values.z }}\nreg: {{ .Values.global.registry }}\n",
            "charts/other/Chart.yaml": "apiVersion: v2\nname: other\nversion: 2.1.0\n",
            "charts/other/templates/o.yaml": "other: {{ .Values.global.registry }}\n",
        ]
        return try HelmChart.load(files: files.mapValues { Array($0.utf8) }, origin: "umbrella") { _, _ in [:] }
    }

    static func render(_ values: String = "") throws -> [String: String] {
        let user = try GoYAMLDecoder.decode(values).mapValue ?? MapBox()
        return try HelmRenderer.render(try umbrella(), values: user, options: RenderOptions(releaseName: "rel"))
    }

    @Test func subchartValuesLiveUnderTheirAliasAndGlobalsPassDown() throws {
        let rendered = try Self.render()
        #expect(rendered["umb/charts/db/templates/v.yaml"] == "name: db\nx: 1\nz: 2\nreg: reg.example\n")
        #expect(rendered["umb/charts/other/templates/o.yaml"] == "other: reg.example\n")
        #expect(rendered["umb/templates/t.yaml"] == "a: {\"b\":1,\"c\":2}\nfromdb: {\"k\":\"v\"}\nsubcharts: [\"db\",\"other\"]\n")
    }

    @Test func aNullDeletesADefaultAndConditionsAndTagsSwitchSubchartsOff() throws {
        let off = try Self.render("db: {enabled: false}\na: {b: null}\n")
        #expect(off["umb/charts/db/templates/v.yaml"] == nil)
        #expect(off["umb/templates/t.yaml"] == "a: {\"c\":2}\nfromdb: null\nsubcharts: [\"other\"]\n")
        let untagged = try Self.render("tags: {extras: false}\n")
        #expect(untagged["umb/charts/other/templates/o.yaml"] == nil)
        #expect(untagged["umb/charts/db/templates/v.yaml"] != nil)
    }

    @Test func userValuesWinOverDefaultsAtEveryDepth() throws {
        let rendered = try Self.render("db: {x: 7}\nglobal: {registry: mirror.internal:5000}\n")
        #expect(rendered["umb/charts/db/templates/v.yaml"] == "name: db\nx: 7\nz: 2\nreg: mirror.internal:5000\n")
    }

    @Test func yamlOneOneScalarsAndNumbersReadAsHelmReadsThem() throws {
        let values = try GoYAMLDecoder.decode("a: yes\nb: 0777\nc: 1e3\nd: \"1e3\"\ne: 2024-01-02\nf: ~\ny: 1\n")
        let box = try #require(values.mapValue)
        #expect(GoFormat.print(box["a"]!) == "true")
        #expect(GoFormat.print(box["b"]!) == "511", "octal, as go-yaml v2 reads it")
        #expect(GoFormat.print(box["c"]!) == "1000")
        #expect(box["d"]?.stringValue == "1e3")
        #expect(box["e"]?.stringValue == "2024-01-02T00:00:00Z", "a timestamp goes through JSON as RFC 3339")
        #expect(box["f"]?.isNull == true)
        #expect(box["y"] == nil && box["true"] != nil, "a plain y key is the boolean true")
    }

    @Test func errorsNameTheTemplateAndLine() throws {
        func failure(_ template: String) -> String {
            let files = ["Chart.yaml": Array("apiVersion: v2\nname: e\nversion: 1.0.0\n".utf8), "templates/x.yaml": Array(template.utf8)]
            do {
                let chart = try HelmChart.load(files: files, origin: "e") { _, _ in [:] }
                _ = try HelmRenderer.render(chart, values: MapBox(), options: RenderOptions())
                return "rendered"
            } catch {
                return "\(error)"
            }
        }
        #expect(failure("a\n{{ if }}") == "parse error at (e/templates/x.yaml:2): missing value for if")
        #expect(failure("{{ .Values.a.b }}") == "template: e/templates/x.yaml:1:3: nil pointer evaluating interface {}.b")
        #expect(failure("{{ (.Values.a).b }}x") == "rendered", "a parenthesised nil is a missing key, not an error")
        #expect(failure("\n  {{ fail \"stop here\" }}") == "execution error at (e/templates/x.yaml:2:5): stop here")
        #expect(
            failure("{{ define \"loop\" }}{{ include \"loop\" . }}{{ end }}{{ include \"loop\" . }}")
                .contains("rendering template has a nested reference name: loop")
        )
        #expect(failure("{{ toToml . | nosuch }}").contains("function \"nosuch\" not defined"))
    }
}
