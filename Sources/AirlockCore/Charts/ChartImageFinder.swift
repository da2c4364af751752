import Foundation
import OCI

/// Finds the images a chart and its subcharts need, the way their default values and templates
/// name them, and checks each against the images of the bundle.
///
/// Values are read as Helm merges them: a subchart's `values.yaml` under the parent's values at
/// the subchart's key (alias or name), with `global` merged down. An image is
/// - a string under a key named `image` (or ending in `Image`),
/// - a mapping under such a key with `repository` or `image`, plus `registry`, `tag`, `digest`,
/// - any mapping with both `repository` and `tag`;
/// its registry is `global.imageRegistry` when set, else its own `registry`, else
/// `global.image.registry`; an empty tag means the chart's `appVersion`. Templates add their
/// literal `image:` lines. A subchart switched off by its `condition`/`tags`, or an image under a
/// mapping with `enabled: false`, is listed as disabled and never counts as missing.
struct ChartImageFinder {
    let bundleImages: [BundlePredicate.Image]

    func find(
        in chart: LoadedChart
    ) -> (images: [BundlePredicate.ChartImage], dependencies: [BundlePredicate.ChartDependency], warnings: [String]) {
        var images: [BundlePredicate.ChartImage] = []
        var warnings: [String] = []
        let dependencies = visit(
            chart,
            path: chart.name,
            override: [:],
            globals: [:],
            disabledBy: nil,
            images: &images,
            warnings: &warnings
        )
        return (images, dependencies, warnings)
    }

    /// Collects the chart's images and returns its subcharts as dependency records.
    private func visit(
        _ chart: LoadedChart,
        path: String,
        override: [String: Any],
        globals: [String: Any],
        disabledBy: String?,
        images: inout [BundlePredicate.ChartImage],
        warnings: inout [String]
    ) -> [BundlePredicate.ChartDependency] {
        if let problem = chart.valuesProblem {
            warnings.append("chart \(path): default values not read (\(problem)); its images are not listed")
        }
        var values = merge(chart.values, override)
        let global = merge((chart.values["global"] as? [String: Any]) ?? [:], globals)
        values["global"] = global
        var found: [(String, String, String?)] = []
        for key in values.keys.sorted() where key != "global" {
            collect(values[key]!, path: [key], disabledBy: nil, chart: chart, global: global, into: &found)
        }
        for (file, text) in chart.templateImages {
            if let reference = normalise(text) { found.append((reference, file, nil)) }
        }
        var seen: Set<String> = []
        for (reference, from, disabled) in found where seen.insert("\(reference) \(from)").inserted {
            let status = (disabledBy ?? disabled) != nil ? .disabled : status(of: reference)
            images.append(.init(chart: path, ref: reference, from: from, status: status, disabledBy: disabledBy ?? disabled))
        }
        return chart.subcharts.map { sub in
            let declared = chart.declaration(of: sub.chart)
            let key = declared?.key ?? sub.chart.name
            let off = disabledBy ?? declared.flatMap { switchedOff($0, parentValues: values) }
            let children = visit(
                sub.chart,
                path: "\(path)/\(key)",
                override: (values[key] as? [String: Any]) ?? [:],
                globals: global,
                disabledBy: off,
                images: &images,
                warnings: &warnings
            )
            return BundlePredicate.ChartDependency(
                name: sub.chart.name,
                version: sub.chart.version,
                alias: declared?.alias,
                repository: declared?.repository,
                condition: declared?.condition,
                digest: sub.digest,
                enabledByDefault: off == nil,
                dependencies: children.isEmpty ? nil : children
            )
        }
    }

    /// Whether the bundle carries the image `text` names, and if not, how close it comes.
    func status(of text: String) -> BundlePredicate.ChartImage.Status {
        guard let wanted = try? ImageReference(text) else { return .missing }
        let named = bundleImages.compactMap { image in
            [image.name, image.source].compactMap { try? ImageReference($0) }.first { $0.name == wanted.name }.map { (image, $0) }
        }
        if let digest = wanted.digest {
            if bundleImages.contains(where: { $0.digest == digest }) { return .inBundle }
            if bundleImages.contains(where: { $0.sourceDigest == digest }) { return .platformSubset }
            return named.contains { $0.1.tag == wanted.tag } ? .digestDiffers : .missing
        }
        return named.contains { $0.1.tag == wanted.tag } ? .inBundle : .missing
    }

    /// Why a subchart is off by default: its first `condition` path that is set, else its `tags`.
    private func switchedOff(_ dependency: DeclaredDependency, parentValues: [String: Any]) -> String? {
        for path in (dependency.condition ?? "").split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !path.isEmpty
        {
            switch lookup(parentValues, path) {
            case "false": return "\(path)=false"
            case "true": return nil
            default: continue
            }
        }
        let tags = dependency.tags.map { lookup(parentValues, "tags.\($0)") }
        if !tags.isEmpty, !tags.contains("true"), tags.contains("false") {
            return "tags " + dependency.tags.joined(separator: ",") + " false"
        }
        return nil
    }

    private func lookup(_ values: [String: Any], _ path: String) -> String? {
        var current: Any = values
        for part in path.split(separator: ".") {
            guard let map = current as? [String: Any], let next = map[String(part)] else { return nil }
            current = next
        }
        return current as? String
    }

    private func collect(
        _ value: Any,
        path: [String],
        disabledBy: String?,
        chart: LoadedChart,
        global: [String: Any],
        into found: inout [(String, String, String?)]
    ) {
        let key = path.last ?? ""
        let imageKey = key == "image" || key.hasSuffix("Image")
        let from = "values " + path.joined(separator: ".")
        switch value {
        case let text as String where imageKey:
            if let reference = normalise(text) { found.append((reference, from, disabledBy)) }
        case let map as [String: Any]:
            var disabled = disabledBy
            if disabled == nil, map["enabled"] as? String == "false" { disabled = path.joined(separator: ".") + ".enabled=false" }
            let repository = nonEmpty(map["repository"])
            if (imageKey && (repository ?? nonEmpty(map["image"])) != nil) || (repository != nil && map["tag"] != nil) {
                if let reference = compose(map, chart: chart, global: global) { found.append((reference, from, disabled)) }
                return
            }
            for child in map.keys.sorted() {
                collect(map[child]!, path: path + [child], disabledBy: disabled, chart: chart, global: global, into: &found)
            }
        case let list as [Any]:
            for (index, item) in list.enumerated() {
                var itemPath = path
                itemPath[itemPath.count - 1] += "[\(index)]"
                collect(item, path: itemPath, disabledBy: disabledBy, chart: chart, global: global, into: &found)
            }
        default:
            break
        }
    }

    private func compose(_ map: [String: Any], chart: LoadedChart, global: [String: Any]) -> String? {
        var name: String
        if let repository = nonEmpty(map["repository"]) {
            name = repository
            let first = repository.split(separator: "/").first.map(String.init) ?? ""
            let hasHost = repository.contains("/") && (first.contains(".") || first.contains(":") || first == "localhost")
            if !hasHost, let registry = registry(map, global) { name = "\(registry)/\(repository)" }
        } else if let image = nonEmpty(map["image"]) {
            name = registry(map, global).map { "\($0)/\(image)" } ?? image
        } else {
            return nil
        }
        guard let tag = nonEmpty(map["tag"]) ?? chart.appVersion else { return normalise(name) }
        var text = name.contains("@") || name.split(separator: "/").last?.contains(":") == true ? name : "\(name):\(tag)"
        if let digest = nonEmpty(map["digest"]), digest.hasPrefix("sha256:"), !text.contains("@") { text += "@\(digest)" }
        return normalise(text)
    }

    private func registry(_ map: [String: Any], _ global: [String: Any]) -> String? {
        nonEmpty(global["imageRegistry"]) ?? nonEmpty(map["registry"]) ?? nonEmpty((global["image"] as? [String: Any])?["registry"])
    }

    /// The reference as Docker would read it (`:latest` when no tag or digest is given), or nil
    /// when it is not a reference (a template expression, say).
    private func normalise(_ text: String) -> String? {
        guard !text.contains("{{"), !text.isEmpty else { return nil }
        if let reference = try? ImageReference(text) { return reference.description }
        return (try? ImageReference(text + ":latest"))?.description
    }
}

private func nonEmpty(_ value: Any?) -> String? {
    guard let text = value as? String, !text.isEmpty, text != "null", text != "~" else { return nil }
    return text
}

/// `override` laid over `base`, mappings merged key by key (Helm's coalescing of values).
func merge(_ base: [String: Any], _ override: [String: Any]) -> [String: Any] {
    var result = base
    for (key, value) in override {
        if let inner = value as? [String: Any], let existing = result[key] as? [String: Any] {
            result[key] = merge(existing, inner)
        } else {
            result[key] = value
        }
    }
    return result
}
