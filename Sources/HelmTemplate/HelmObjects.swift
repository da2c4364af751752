import Foundation

/// The Go structs Helm puts in scope: `.Capabilities` and `.Files`.
public enum HelmObjects {
    /// Helm v4's default API versions (`DefaultVersionSet`, from client-go's scheme), as the
    /// helm-python-sdk build of Helm 4 reports them.
    static let defaultAPIVersions = [
        "v1", "admissionregistration.k8s.io/v1", "admissionregistration.k8s.io/v1alpha1", "admissionregistration.k8s.io/v1beta1",
        "internal.apiserver.k8s.io/v1alpha1", "apps/v1", "apps/v1beta1", "apps/v1beta2", "authentication.k8s.io/v1",
        "authentication.k8s.io/v1alpha1", "authentication.k8s.io/v1beta1", "authorization.k8s.io/v1", "authorization.k8s.io/v1beta1",
        "autoscaling/v1", "autoscaling/v2", "batch/v1", "batch/v1beta1", "certificates.k8s.io/v1", "certificates.k8s.io/v1beta1",
        "certificates.k8s.io/v1alpha1", "coordination.k8s.io/v1alpha2", "coordination.k8s.io/v1beta1", "coordination.k8s.io/v1",
        "discovery.k8s.io/v1", "discovery.k8s.io/v1beta1", "events.k8s.io/v1", "events.k8s.io/v1beta1", "extensions/v1beta1",
        "flowcontrol.apiserver.k8s.io/v1", "flowcontrol.apiserver.k8s.io/v1beta1", "flowcontrol.apiserver.k8s.io/v1beta2",
        "flowcontrol.apiserver.k8s.io/v1beta3", "networking.k8s.io/v1", "networking.k8s.io/v1beta1", "node.k8s.io/v1",
        "node.k8s.io/v1alpha1", "node.k8s.io/v1beta1", "policy/v1", "policy/v1beta1", "rbac.authorization.k8s.io/v1",
        "rbac.authorization.k8s.io/v1beta1", "rbac.authorization.k8s.io/v1alpha1", "resource.k8s.io/v1", "resource.k8s.io/v1beta2",
        "resource.k8s.io/v1beta1", "resource.k8s.io/v1alpha3", "scheduling.k8s.io/v1alpha2", "scheduling.k8s.io/v1beta1",
        "scheduling.k8s.io/v1", "storage.k8s.io/v1beta1", "storage.k8s.io/v1", "storage.k8s.io/v1alpha1",
        "storagemigration.k8s.io/v1beta1", "apiextensions.k8s.io/v1beta1", "apiextensions.k8s.io/v1",
    ]

    /// Helm v4's default Kubernetes version for rendering without a cluster.
    public static let defaultKubeVersion = "v1.36.0"

    static func capabilities(kubeVersion: String, apiVersions: [String]) -> TemplateValue {
        let version = kubeVersion.hasPrefix("v") ? kubeVersion : "v" + kubeVersion
        let parts = version.dropFirst().split(separator: ".")
        let major = parts.first.map { String($0.prefix { $0.isNumber }) } ?? "0"
        let minor = parts.dropFirst().first.map { String($0.prefix { $0.isNumber }) } ?? "0"
        let normalised = SemanticVersion(lenient: version).map { "v\($0.major).\($0.minor).\($0.patch)" } ?? version
        let kube = GoObject(
            typeName: "common.KubeVersion",
            kind: "struct",
            fields: ["Version": .string(version), "Major": .string(major), "Minor": .string(minor)],
            methods: ["GitVersion": { _ in .string(version) }, "String": { _ in .string(normalised) }],
            printed: normalised,
            jsonFields: [("Version", .string(version)), ("Major", .string(major)), ("Minor", .string(minor))]
        )
        let versionSet = GoObject(
            typeName: "common.VersionSet",
            kind: "slice",
            methods: [
                "Has": { args in
                    let a = try Arguments("Has", args, count: 1)
                    return .bool(apiVersions.contains(try a.string(0)))
                }
            ],
            underlying: .strings(apiVersions)
        )
        let helmFields: [(String, TemplateValue)] = [
            ("version", .string("v4.2")), ("go_version", .string("go1.26.6")), ("kube_client_version", .string("v1.36")),
        ]
        let helm = GoObject(
            typeName: "version.BuildInfo",
            kind: "struct",
            fields: [
                "Version": .string("v4.2"), "GoVersion": .string("go1.26.6"), "KubeClientVersion": .string("v1.36"),
                "GitCommit": .string(""), "GitTreeState": .string(""),
            ],
            jsonFields: helmFields
        )
        return .object(
            GoObject(
                typeName: "*common.Capabilities",
                fields: ["KubeVersion": .object(kube), "APIVersions": .object(versionSet), "HelmVersion": .object(helm)],
                jsonFields: [("KubeVersion", .object(kube)), ("APIVersions", .object(versionSet)), ("HelmVersion", .object(helm))]
            )
        )
    }

    /// Helm's `files` type: `Get`, `GetBytes`, `Glob`, `AsConfig`, `AsSecrets`, `Lines`.
    static func files(_ entries: [(name: String, data: [UInt8])]) -> TemplateValue {
        var table: [String: [UInt8]] = [:]
        for entry in entries { table[entry.name] = entry.data }
        return filesObject(table)
    }

    private static func filesObject(_ table: [String: [UInt8]]) -> TemplateValue {
        let methods: [String: ([TemplateValue]) throws -> TemplateValue] = [
            "Get": { args in
                let a = try Arguments("Get", args, count: 1)
                return .string(table[try a.string(0)].map { String(decoding: $0, as: UTF8.self) } ?? "")
            },
            "GetBytes": { args in
                let a = try Arguments("GetBytes", args, count: 1)
                return .string(table[try a.string(0)].map { String(decoding: $0, as: UTF8.self) } ?? "")
            },
            "Glob": { args in
                let a = try Arguments("Glob", args, count: 1)
                let pattern = try globRegex(try a.string(0))
                return filesObject(table.filter { pattern.firstMatch(in: $0.key, range: NSRange($0.key.startIndex..., in: $0.key)) != nil })
            },
            "AsConfig": { _ in
                guard !table.isEmpty else { return .string("") }
                let box = MapBox()
                for (name, data) in table { box[SprigStrings.goPathBase(name)] = .string(String(decoding: data, as: UTF8.self)) }
                let yaml = GoYAML.marshal(.map(box))
                return .string(yaml.hasSuffix("\n") ? String(yaml.dropLast()) : yaml)
            },
            "AsSecrets": { _ in
                guard !table.isEmpty else { return .string("") }
                let box = MapBox()
                for (name, data) in table { box[SprigStrings.goPathBase(name)] = .string(Data(data).base64EncodedString()) }
                let yaml = GoYAML.marshal(.map(box))
                return .string(yaml.hasSuffix("\n") ? String(yaml.dropLast()) : yaml)
            },
            "Lines": { args in
                let a = try Arguments("Lines", args, count: 1)
                guard let data = table[try a.string(0)] else { return .strings([]) }
                var lines = String(decoding: data, as: UTF8.self).components(separatedBy: "\n")
                if lines.last == "" { lines.removeLast() }
                return .strings(lines)
            },
        ]
        let underlying = MapBox(table.mapValues { .string(String(decoding: $0, as: UTF8.self)) })
        return .object(GoObject(typeName: "engine.files", kind: "map", methods: methods, underlying: .map(underlying)))
    }

    /// gobwas/glob with `/` as separator, as Helm's `Files.Glob` uses it: `*` and `?` stay inside a
    /// path segment, `**` crosses them, `{a,b}` and `[...]` as in shells.
    static func globRegex(_ pattern: String) throws -> NSRegularExpression {
        var regex = "^"
        var characters = Array(pattern)
        var index = 0
        var braceDepth = 0
        while index < characters.count {
            let character = characters[index]
            switch character {
            case "*":
                if index + 1 < characters.count, characters[index + 1] == "*" {
                    regex += ".*"
                    index += 1
                } else {
                    regex += "[^/]*"
                }
            case "?": regex += "[^/]"
            case "{":
                braceDepth += 1
                regex += "(?:"
            case "}" where braceDepth > 0:
                braceDepth -= 1
                regex += ")"
            case "," where braceDepth > 0: regex += "|"
            case "[":
                if let close = characters[(index + 1)...].firstIndex(of: "]") {
                    var body = String(characters[(index + 1)..<close])
                    if body.hasPrefix("!") { body = "^" + body.dropFirst() }
                    regex += "[" + body + "]"
                    index = close
                } else {
                    regex += "\\["
                }
            case "\\":
                if index + 1 < characters.count {
                    regex += NSRegularExpression.escapedPattern(for: String(characters[index + 1]))
                    index += 1
                }
            default:
                regex += NSRegularExpression.escapedPattern(for: String(character))
            }
            index += 1
        }
        characters = []
        return try NSRegularExpression(pattern: regex + "$")
    }
}
