import Foundation
import OCI

/// The mapping of a push or serve (source → target) and node mirror configs that send pulls of the
/// source registries to the private one: containerd `hosts.toml`, k3s `registries.yaml`, containers
/// `registries.conf`.
struct MirrorConfigs {
    let target: PushTarget
    let plainHTTP: Bool
    let caFiles: [String]
    let mappings: [PushReport.Mapping]
    var rules = PushRules()
    /// The command named in the files' first comment.
    var author = "airlock push"

    /// Rules that rename repositories of `source` (`match` starts with `source/`): (repository prefix, new path).
    func renames(in source: String) -> [(from: String, to: String)] {
        rules.rules.compactMap { rule in
            guard rule.match.hasPrefix(source + "/") else { return nil }
            let from = String(rule.match.dropFirst(source.count + 1))
            let to = rule.replace
            return (from, target.prefix.isEmpty ? to : "\(target.prefix)/\(to)")
        }
    }

    /// Source registries of the pushed images (charts have none).
    var sourceRegistries: [String] {
        Array(Set(mappings.filter { $0.kind == .image }.compactMap { try? ImageReference($0.source).registry })).sorted()
    }

    var scheme: String { plainHTTP ? "http" : "https" }

    /// Writes every file under `folder`; returns their paths.
    func write(to folder: String) throws -> [String] {
        var files: [(String, String)] = [
            ("mapping.json", try mappingJSON()),
            ("mapping.txt", mappings.map { "\($0.source) -> \($0.target)@\($0.digest)" }.joined(separator: "\n") + "\n"),
            ("k3s/registries.yaml", k3sRegistries()),
            ("containers/registries.conf", containersRegistries()),
        ]
        for source in sourceRegistries {
            files.append(("containerd/certs.d/\(source)/hosts.toml", containerdHosts(for: source)))
        }
        var written: [String] = []
        for (name, text) in files {
            let path = "\(folder)/\(name)"
            try FileManager.default.createDirectory(
                atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path,
                withIntermediateDirectories: true
            )
            try writeAtomically(Array(text.utf8), to: path)
            written.append(path)
        }
        return written
    }

    private func mappingJSON() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(mappings), as: UTF8.self) + "\n"
    }

    /// containerd: `certs.d/<source>/hosts.toml`; with a prefix the mirror URL carries `/v2/<prefix>`.
    func containerdHosts(for source: String) -> String {
        let upstream = source == "docker.io" ? "https://registry-1.docker.io" : "https://\(source)"
        let mirror = target.prefix.isEmpty ? "\(scheme)://\(target.host)" : "\(scheme)://\(target.host)/v2/\(target.prefix)"
        var text = "# Written by \(author): pulls of \(source) go to \(target.host).\n"
        text += "server = \(quote(upstream))\n\n[host.\(quote(mirror))]\n  capabilities = [\"pull\", \"resolve\"]\n"
        if !target.prefix.isEmpty { text += "  override_path = true\n" }
        if let ca = caFiles.first { text += "  ca = \(quote(ca))  # the CA's path on the node\n" }
        if !renames(in: source).isEmpty {
            text += "# Repositories renamed by push rules cannot be mapped by containerd; pull them by their new names.\n"
        }
        return text
    }

    func k3sRegistries() -> String {
        var text = "# Written by \(author): /etc/rancher/k3s/registries.yaml\nmirrors:\n"
        for source in sourceRegistries {
            text += "  \(quote(source)):\n    endpoint:\n      - \(quote("\(scheme)://\(target.host)"))\n"
            let renamed = renames(in: source)
            if !target.prefix.isEmpty || !renamed.isEmpty {
                text += "    rewrite:\n"
                for (from, to) in renamed {
                    let pattern = "^" + NSRegularExpression.escapedPattern(for: from) + "(.*)$"
                    text += "      \(quote(pattern)): \(quote(to + "$1"))\n"
                }
                text += "      \(quote("^(.*)$")): \(quote(target.prefix.isEmpty ? "$1" : "\(target.prefix)/$1"))\n"
            }
        }
        if sourceRegistries.isEmpty { text += "  {}\n" }
        if let ca = caFiles.first {
            text += "configs:\n  \(quote(target.host)):\n    tls:\n      ca_file: \(quote(ca))\n"
        }
        return text
    }

    func containersRegistries() -> String {
        var text = "# Written by \(author): /etc/containers/registries.conf.d/airlock.conf\n"
        let location = target.prefix.isEmpty ? target.host : "\(target.host)/\(target.prefix)"
        for source in sourceRegistries {
            for (from, to) in renames(in: source) {
                let prefix = "\(source)/\(from)".trimmingCharacters(in: CharacterSet(charactersIn: "/"))
                text +=
                    """
                    \n[[registry]]\nprefix = \(quote(prefix))\nlocation = \
                    \(quote("\(target.host)/\(to)".trimmingCharacters(in: CharacterSet(charactersIn: "/"))))\n
                    """
                if plainHTTP { text += "insecure = true\n" }
            }
            text += "\n[[registry]]\nprefix = \(quote(source))\nlocation = \(quote(location))\n"
            if plainHTTP { text += "insecure = true\n" }
        }
        return text
    }

    /// A double-quoted string, valid in both TOML and YAML.
    private func quote(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
