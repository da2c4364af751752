import HelmTemplate
import Testing

/// Go `text/template`, Sprig and Helm semantics, case by case. Every expected output here was
/// produced by real Helm v4 (helm-python-sdk 0.2.2) rendering the same template with the same
/// values (release "rel" in namespace "ns"); the table was generated from that render.
struct HelmSemanticsTests {
    static let values =
        "big: 1000000\ncolon: 'a: b'\ndash: '- x'\ndate: '2024-01-01'\nempty: ''\nhalf: 0.5\nhtml: <a&b>\nlis"
        + "t:\n- 1\n- a\n- true\nlong: 'word word word word word word word word word word word word word word w"
        + "ord\n  word word word word word '\nmap:\n  a: 1\n  a10: 10\n  a9: 9\n  b: 2\nmulti: 'line one\n\n  l"
        + "ine two\n\n  '\nnested:\n  k:\n    v: deep\nnul: null\nnumstr: '0777'\nquoteme: 'true'\ns: x\nsmall:"
        + " 3\nt: true\nzero: 0\n"
        + "plainlong: alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon\n"

    static let cases: [(template: String, helm: String)] = [
        ("{{ .Values.big }}", "1e+06"),
        ("{{ .Values.small }}", "3"),
        ("{{ .Values.half }}", "0.5"),
        ("{{ 1.0 }}", "1"),
        ("{{ 2e6 }}", "2e+06"),
        ("{{ 1 }}", "1"),
        ("{{ .Values.missing }}", ""),
        ("[{{ .Values.nul }}]", "[]"),
        ("{{ printf \"%v|%d|%s|%q\" .Values.small 3 \"s\" \"q\" }}", "3|3|s|\"q\""),
        ("{{ printf \"%d\" .Values.small }}", "%!d(float64=3)"),
        ("{{ printf \"%s\" .Values.small }}", "%!s(float64=3)"),
        ("{{ printf \"%05.2f|%x|%-4s|\" 3.14159 255 \"ab\" }}", "03.14|ff|ab  |"),
        ("{{ print 1 2 \"a\" \"b\" 3 }}", "1 2ab3"),
        ("{{ println \"a\" 1 }}", "a 1\n"),
        ("{{ .Values.list }}", "[1 a true]"),
        ("{{ .Values.map }}", "map[a:1 a10:10 a9:9 b:2]"),
        ("{{ toYaml .Values.map }}", "a: 1\na9: 9\na10: 10\nb: 2"),
        ("{{ toYaml .Values.list }}", "- 1\n- a\n- true"),
        (
            "{{ toYaml (dict \"a\" .Values.long) }}",
            "a: 'word word word word word word word word word word word word word word word word\n  word word word word '"
        ),
        (
            """
            {{ toYaml (dict \"m\" .Values.multi \"q\" .Values.quoteme \"c\" .Values.colon \"d\" .Values.dash \"t\" .Values.date \"n\" \
            .Values.numstr \"e\" .Values.empty \"z\" .Values.nul) }}
            """,
            "c: 'a: b'\nd: '- x'\ne: \"\"\nm: |\n  line one\n  line two\n\"n\": \"0777\"\nq: \"true\"\nt: \"2024-01-01\"\nz: null"
        ),
        (
            "{{ toYaml (dict \"f\" 1.5 \"i\" 3 \"b\" .Values.big \"x\" 0.000001 \"y\" 1e21) }}",
            "b: 1000000\nf: 1.5\ni: 3\nx: 1e-06\n\"y\": 1e+21"
        ),
        ("{{ toJson .Values.map }}", "{\"a\":1,\"a10\":10,\"a9\":9,\"b\":2}"),
        (
            "{{ toJson (dict \"h\" .Values.html \"f\" .Values.half \"b\" .Values.big \"n\" .Values.nul) }}",
            "{\"b\":1000000,\"f\":0.5,\"h\":\"\\u003ca\\u0026b\\u003e\",\"n\":null}"
        ),
        ("{{- if .Values.empty }}yes{{ else }}no{{ end -}}", "no"),
        ("{{ if .Values.zero }}y{{ else if .Values.t }}t{{ end }}", "t"),
        ("{{ range $k, $v := .Values.map }}{{ $k }}={{ $v }},{{ end }}", "a=1,a10=10,a9=9,b=2,"),
        ("{{ range $i, $e := .Values.list }}{{ $i }}:{{ $e }};{{ end }}", "0:1;1:a;2:true;"),
        ("{{ range .Values.missing }}x{{ else }}none{{ end }}", "none"),
        ("{{ with .Values.nested.k }}{{ .v }}{{ end }}", "deep"),
        ("{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}", "2"),
        ("{{ range $i := until 5 }}{{ if eq $i 3 }}{{ break }}{{ end }}{{ $i }}{{ end }}", "012"),
        ("{{ range $i := until 4 }}{{ if eq $i 1 }}{{ continue }}{{ end }}{{ $i }}{{ end }}", "023"),
        ("{{ and 1 0 \"x\" }}|{{ or 0 \"\" \"y\" }}|{{ and 1 2 }}|{{ not .Values.empty }}", "0|y|2|true"),
        ("{{ (.Values.missing).deeper }}", ""),
        (
            """
            {{ default \"d\" .Values.empty }}|{{ default \"d\" .Values.zero }}|{{ default \"d\" .Values.s }}|{{ .Values.missing | \
            default \"m\" }}
            """,
            "d|d|x|m"
        ),
        ("{{ coalesce .Values.nul .Values.empty \"c\" }}", "c"),
        ("{{ ternary \"a\" \"b\" true }}", "a"),
        ("{{ empty .Values.map }}|{{ empty .Values.zero }}", "false|true"),
        ("{{ quote .Values.s }}|{{ quote .Values.nul }}|{{ squote .Values.small }}|{{ quote .Values.big }}", "\"x\"||'3'|\"1e+06\""),
        ("{{ \"  hi  \" | trim }}|{{ trimSuffix \"-\" \"a-\" }}|{{ trimPrefix \"v\" \"v1\" }}", "hi|a|1"),
        (
            "{{ trunc 3 \"abcdef\" }}|{{ trunc -2 \"abcdef\" }}|{{ upper \"a\" }}|{{ lower \"B\" }}|{{ title \"hello world\" }}",
            "abc|ef|A|b|Hello World"
        ),
        ("{{ indent 2 \"a\\nb\" }}", "  a\n  b"),
        ("{{ nindent 2 \"a\" }}", "\n  a"),
        (
            """
            {{ replace \"a\" \"b\" \"banana\" }}|{{ contains \"an\" \"banana\" }}|{{ hasPrefix \"ba\" \"banana\" }}|{{ hasSuffix \
            \"na\" \"banana\" }}
            """,
            "bbnbnb|true|true|true"
        ),
        (
            "{{ join \",\" (list 1 \"a\" true) }}|{{ splitList \",\" \"a,b,,c\" }}|{{ split \",\" \"a,b\" }}",
            "1,a,true|[a b  c]|map[_0:a _1:b]"
        ),
        (
            "{{ list 1 2 | toJson }}|{{ append (list 1) 2 }}|{{ prepend (list 1) 0 }}|{{ concat (list 1) (list 2 3) }}",
            "[1,2]|[1 2]|[0 1]|[1 2 3]"
        ),
        (
            """
            {{ first (list 1 2) }}|{{ last (list 1 2) }}|{{ rest (list 1 2 3) }}|{{ initial (list 1 2 3) }}|{{ uniq (list 1 1 2) \
            }}|{{ without (list 1 2 3) 2 }}|{{ has 2 (list 1 2) }}|{{ compact (list \"\" 1 0 \"a\") }}|{{ reverse (list 1 2 3) }}|{{ \
            sortAlpha (list \"b\" \"a\" \"C\") }}
            """,
            "1|2|[2 3]|[1 2]|[1 2]|[1 3]|true|[1 a]|[3 2 1]|[C a b]"
        ),
        (
            """
            {{ dict \"a\" 1 \"b\" | toJson }}|{{ get (dict \"a\" 1) \"a\" }}|[{{ get (dict \"a\" 1) \"z\" }}]|{{ hasKey .Values.map \
            \"a\" }}|{{ keys .Values.map | sortAlpha }}|{{ pick .Values.map \"a\" \"b\" | toJson }}|{{ omit .Values.map \"a\" \"b\" | \
            toJson }}
            """,
            "{\"a\":1,\"b\":\"\"}|1|[]|true|[a a10 a9 b]|{\"a\":1,\"b\":2}|{\"a10\":10,\"a9\":9}"
        ),
        (
            "{{ $d := dict \"a\" 1 }}{{ $_ := set $d \"b\" 2 }}{{ toJson $d }}|{{ $_ := unset $d \"a\" }}{{ toJson $d }}",
            "{\"a\":1,\"b\":2}|{\"b\":2}"
        ),
        (
            """
            {{ toJson (merge (dict \"a\" 1 \"n\" (dict \"x\" 1)) (dict \"a\" 2 \"b\" 3 \"n\" (dict \"x\" 2 \"y\" 3))) }}|{{ toJson \
            (mergeOverwrite (dict \"a\" 1 \"n\" (dict \"x\" 1)) (dict \"a\" 2 \"b\" 3 \"n\" (dict \"x\" 2 \"y\" 3))) }}
            """,
            "{\"a\":1,\"b\":3,\"n\":{\"x\":1,\"y\":3}}|{\"a\":2,\"b\":3,\"n\":{\"x\":2,\"y\":3}}"
        ),
        ("{{ dig \"k\" \"v\" \"dflt\" .Values.nested }}|{{ dig \"k\" \"z\" \"dflt\" .Values.nested }}", "deep|dflt"),
        (
            "{{ add 1 2 3 }}|{{ sub 5 2 }}|{{ mul 2 3 }}|{{ div 7 2 }}|{{ mod 7 2 }}|{{ max 1 5 3 }}|{{ min 4 2 }}|{{ add1 1 }}",
            "6|3|6|3|1|5|2|2"
        ),
        (
            """
            {{ add .Values.small 1 }}|{{ int \"12\" }}|{{ int 3.9 }}|{{ int64 .Values.big }}|{{ float64 \"1.5\" }}|{{ floor 1.7 }}|{{ \
            ceil 1.2 }}|{{ mulf 1.5 2 }}|{{ divf 1 4 }}|{{ round 1.2345 2 }}
            """,
            "4|12|3|1000000|1.5|1|2|3|0.25|1.23"
        ),
        (
            """
            {{ typeOf .Values.small }}|{{ typeOf 1 }}|{{ typeOf (add 1 1) }}|{{ typeOf .Values.list }}|{{ typeOf .Values.map }}|{{ \
            typeOf .Values.nul }}|{{ kindOf .Values.map }}|{{ kindIs \"slice\" .Values.list }}|{{ typeOf (splitList \",\" \"a\") }}
            """,
            "float64|int|int64|[]interface {}|map[string]interface {}|<nil>|map|true|[]string"
        ),
        (
            "{{ b64enc \"hello\" }}|{{ b64dec \"aGVsbG8=\" }}|{{ sha256sum \"hello\" }}|{{ sha1sum \"hello\" }}|{{ adler32sum \"hello\" }}",
            "aGVsbG8=|hello|2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824|aaf4c61ddcc5e8a2dabe"
                + "de0f3b482cd9aea9434d|103547413"
        ),
        (
            """
            {{ regexMatch \"^a.c$\" \"abc\" }}|{{ regexFind \"[0-9]+\" \"ab123cd45\" }}|{{ regexFindAll \"[0-9]+\" \"ab123cd45\" -1 \
            }}|{{ regexReplaceAll \"a(x*)b\" \"-ab-axxb-\" \"${1}W\" }}|{{ regexReplaceAllLiteral \"a(x*)b\" \"-ab-\" \"${1}\" }}|{{ \
            regexSplit \"z+\" \"pizza\" -1 }}
            """,
            "true|123|[123 45]|-W-xxW-|-${1}-|[pi a]"
        ),
        (
            """
            {{ semverCompare \">=1.21-0\" .Capabilities.KubeVersion.GitVersion }}|{{ semverCompare \"<1.19\" \"1.18.5\" }}|{{ \
            semverCompare \"^1.2\" \"1.3.0\" }}|{{ (semver \"1.2.3-rc.1\").Major }}|{{ semver \"v1.2\" }}
            """,
            "true|true|true|1|1.2.0"
        ),
        (
            """
            {{ .Capabilities.KubeVersion.Major }}.{{ .Capabilities.KubeVersion.Minor }}|{{ .Capabilities.APIVersions.Has \"apps/v1\" \
            }}|{{ .Capabilities.APIVersions.Has \"monitoring.coreos.com/v1\" }}
            """,
            "1.36|true|false"
        ),
        (
            """
            {{ .Release.Name }}|{{ .Release.Namespace }}|{{ .Release.Service }}|{{ .Release.IsInstall }}|{{ .Release.Revision }}|{{ \
            .Chart.Name }}|{{ .Chart.Version }}|{{ .Chart.AppVersion }}|{{ .Template.Name }}|{{ .Template.BasePath }}
            """,
            "rel|ns|Helm|true|1|probe|1.2.3|4.5|probe/templates/c058.txt|probe/templates"
        ),
        (
            "{{ include \"probe.helper\" (dict \"x\" \"y\") }}|{{ tpl \"{{ .Values.s }}-{{ .Release.Name }}\" . }}|{{ tpl .Values.s . }}",
            "got y|x-rel|x"
        ),
        (
            """
            {{ fromYaml \"a: 1\\nb: [x, y]\\nc: yes\" | toJson }}|{{ fromYamlArray \"- 1\\n- a\" | toJson }}|{{ fromJson \
            \"{\\\"a\\\": 1}\" | toJson }}|{{ (fromYaml \"a: b: c\").Error | empty }}
            """,
            "{\"a\":1,\"b\":[\"x\",true],\"c\":true}|[1,\"a\"]|{\"a\":1}|false"
        ),
        (
            """
            {{ until 3 }}|{{ untilStep 0 10 3 }}|{{ seq 3 }}|{{ toString 5 }}|{{ toString .Values.half }}|{{ atoi \"42\" }}|{{ cat \
            \"a\" 1 .Values.nul \"b\" }}
            """,
            "[0 1 2]|[0 3 6 9]|1 2 3|5|0.5|42|a 1 b"
        ),
        (
            """
            {{ index .Values.map \"a\" }}|{{ index .Values.list 1 }}|[{{ index .Values.map \"zz\" }}]|{{ len .Values.list }}|{{ len \
            \"abc\" }}|{{ slice (list 1 2 3) 1 }}
            """,
            "1|a|[]|3|3|[2 3]"
        ),
        (
            """
            {{ eq 1 1 }}|{{ eq \"a\" \"b\" \"a\" }}|{{ ne 1 2 }}|{{ lt 1 2 }}|{{ ge \"b\" \"a\" }}|{{ eq .Values.nul nil }}|{{ eq \
            .Values.half 0.5 }}
            """,
            "true|true|true|true|true|true|true"
        ),
        ("{{ base \"a/b/c.txt\" }}|{{ dir \"a/b/c.txt\" }}|{{ ext \"c.tar.gz\" }}|{{ clean \"a//b/../c\" }}", "c.txt|a/b|.gz|a/c"),
        (
            """
            {{ snakecase \"HelloWorld\" }}|{{ kebabcase \"HelloWorld\" }}|{{ camelcase \"hello_world\" }}|{{ repeat 3 \"ab\" }}|{{ \
            substr 1 3 \"abcdef\" }}|{{ nospace \"a b c\" }}|{{ initials \"hello big world\" }}|{{ abbrev 5 \"hello world\" }}
            """,
            "hello_world|hello-world|HelloWorld|ababab|bc|abc|hbw|he..."
        ),
        ("{{ toYaml .Values.nested | indent 4 }}", "    k:\n      v: deep"),
        ("{{ toYaml list }}|{{ toYaml dict }}|{{ toYaml \"plain\" }}|{{ toYaml .Values.nul }}", "[]|{}|plain|null"),
        ("{{ toPrettyJson (dict \"a\" (list 1 2) \"b\" dict) }}", "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {}\n}"),
        ("{{ toRawJson (dict \"h\" \"<x>\") }}", "{\"h\":\"<x>\"}"),
        ("{{- /* a comment */ -}} x {{- \" y \" -}} z", "x y z"),
        (
            """
            {{ printf \"%v\" .Values.nul }}|{{ printf \"%s\" .Values.list }}|{{ printf \"%d%%\" 5 }}|{{ printf \"%t\" true }}|{{ \
            printf \"%6.2f\" 3.14159 }}|{{ printf \"%x\" \"hi\" }}
            """,
            "<nil>|[%!s(float64=1) a %!s(bool=true)]|5%|true|  3.14|6869"
        ),
        (
            "{{ urlParse \"https://u:p@h.example:8443/p?q=1#f\" | toJson }}",
            "{\"fragment\":\"f\",\"host\":\"h.example:8443\",\"hostname\":\"h.example\",\"opaque\":\"\",\"path\":"
                + "\"/p\",\"query\":\"q=1\",\"scheme\":\"https\",\"userinfo\":\"u:p\"}"
        ),
        ("{{ $r := \"\" }}{{ range $i, $e := list \"a\" \"b\" }}{{ $r = printf \"%s%s\" $r $e }}{{ end }}{{ $r }}", "ab"),
        ("{{ lookup \"v1\" \"Secret\" \"ns\" \"n\" | toJson }}", "{}"),
        (
            """
            {{ .Files.Get \"files/a.txt\" }}|{{ range $p, $_ := .Files.Glob \"files/*.txt\" }}{{ $p }},{{ end }}|{{ (.Files.Glob \
            \"files/*\").AsConfig }}
            """,
            "alpha\n|files/a.txt,files/b.txt,|a.txt: |\n  alpha\nb.txt: |\n  beta: 2"
        ),
        (
            "{{ toYaml (dict \"a\" .Values.plainlong) }}",
            "a: alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron\n  pi rho sigma tau upsilon"
        ),
    ]

    /// Renders each template as `templates/cNNN.txt` (NNN its case number, as in the Helm run).
    static func render(_ templates: [Int: String]) throws -> [String: String] {
        var files: [String: [UInt8]] = [
            "Chart.yaml": Array("apiVersion: v2\nname: probe\nversion: 1.2.3\nappVersion: \"4.5\"\n".utf8),
            "values.yaml": Array(values.utf8),
            "files/a.txt": Array("alpha\n".utf8),
            "files/b.txt": Array("beta: 2\n".utf8),
            "templates/_helpers.tpl": Array("{{- define \"probe.helper\" -}}got {{ .x }}{{- end -}}".utf8),
        ]
        for (index, template) in templates {
            files["templates/" + name(index)] = Array(template.utf8)
        }
        let chart = try HelmChart.load(files: files, origin: "probe") { _, _ in [:] }
        return try HelmRenderer.render(chart, values: MapBox(), options: RenderOptions(releaseName: "rel", namespace: "ns"))
    }

    @Test(arguments: cases.indices)
    func rendersAsHelmDoes(_ index: Int) throws {
        let (template, helm) = Self.cases[index]
        let rendered = try Self.render([index: template])
        #expect(rendered["probe/templates/" + Self.name(index)] == helm, "template: \(template)")
    }

    static func name(_ index: Int) -> String {
        "c" + String(repeating: "0", count: max(0, 3 - String(index).count)) + String(index) + ".txt"
    }
}
