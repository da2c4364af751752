import Foundation
import Hashing
import HelmTemplate
import OCI

/// The images a chart will pull as it will be installed, checked against the bundle: the chart
/// is rendered with airlock's Helm engine (the install's values, `set:`, release and Kubernetes
/// version), and its images are those the rendered objects name, plus those its maintainers
/// declare in annotations; images its values name that this install does not render are listed
/// as `not-rendered`, for information.
struct ChartImageCheck {
    let bundleImages: [BundlePredicate.Image]
    /// Where `airlock.yaml` lives: values files are relative to it.
    let baseDirectory: String

    struct Described {
        var images: [BundlePredicate.ChartImage]
        var dependencies: [BundlePredicate.ChartDependency]
        var warnings: [String]
        var rendered: BundlePredicate.RenderSettings
    }

    func describe(archive: [UInt8], chart: BundlePredicate.Chart, install: BundleSpec.Chart) throws -> Described {
        let what = "chart \(chart.name) \(chart.version)"
        let finder = ChartImageFinder(bundleImages: bundleImages)
        let guessed = finder.find(in: try LoadedChart.load(archive: archive, name: what))
        let helmChart = try ChartRendering.load(files: try ChartRendering.archiveFiles(archive, name: what), origin: what)
        let values = try ChartRendering.userValues(install.install, relativeTo: baseDirectory)
        let rendered = try ChartRendering.render(helmChart, values: values, settings: install.install)
        var images: [BundlePredicate.ChartImage] = []
        var seen: Set<String> = []
        // One entry per chart and image, naming every template that renders it.
        var templates: [String: [String]] = [:]
        var order: [String] = []
        for image in try ChartRendering.images(in: rendered) {
            let (chartPath, template) = Self.split(templateName: image.template)
            let key = chartPath + " " + image.reference
            if templates[key] == nil { order.append(key) }
            templates[key, default: []].append(template)
        }
        for key in order {
            let space = key.firstIndex(of: " ")!
            let (chartPath, reference) = (String(key[..<space]), String(key[key.index(after: space)...]))
            images.append(
                .init(
                    chart: chartPath,
                    ref: reference,
                    from: templates[key]!.sorted().joined(separator: ", "),
                    status: finder.status(of: reference),
                    found: .rendered
                )
            )
            seen.insert(reference)
        }
        // `processDependencies` left only the subcharts this install enables.
        for (chartPath, reference, annotation) in Self.declaredImages(helmChart, path: helmChart.name) where seen.insert(reference).inserted
        {
            images.append(
                .init(
                    chart: chartPath,
                    ref: reference,
                    from: "annotation \(annotation)",
                    status: finder.status(of: reference),
                    found: .declared
                )
            )
        }
        var listed: Set<String> = []
        for guess in guessed.images where !seen.contains(guess.ref) && listed.insert(guess.chart + " " + guess.ref).inserted {
            images.append(.init(chart: guess.chart, ref: guess.ref, from: guess.from, status: .notRendered, found: .values))
        }
        let settings = BundlePredicate.RenderSettings(
            releaseName: install.install.releaseName,
            namespace: install.install.namespace,
            kubeVersion: install.install.kubeVersion ?? HelmObjects.defaultKubeVersion,
            values: try zip(install.valuesWritten, install.install.valuesFiles).map { written, path in
                guard let bytes = FileManager.default.contents(atPath: path) else {
                    throw ChartError.valuesFile(file: written, problem: "cannot read it")
                }
                return .init(path: written, sha256: SHA256Hasher.hex(Array(bytes)))
            }.nilIfEmpty,
            set: install.install.set.isEmpty
                ? nil
                : Dictionary(
                    install.install.set.map { ($0.path, $0.value.trimmingCharacters(in: .whitespacesAndNewlines)) },
                    uniquingKeysWith: { _, last in last }
                ),
            templates: rendered.count
        )
        return Described(images: images, dependencies: guessed.dependencies, warnings: guessed.warnings, rendered: settings)
    }

    /// `keycloak/charts/postgresql/templates/x.yaml` → (`keycloak/postgresql`, `templates/x.yaml`).
    static func split(templateName: String) -> (String, String) {
        guard let range = templateName.range(of: "/templates/", options: .backwards) else { return (templateName, templateName) }
        let chartPath = templateName[..<range.lowerBound].replacingOccurrences(of: "/charts/", with: "/")
        return (chartPath, "templates/" + templateName[range.upperBound...])
    }

    /// Images declared in `artifacthub.io/images` or Bitnami's `images` annotation, in the chart
    /// and its enabled subcharts.
    static func declaredImages(_ chart: HelmChart, path: String) -> [(String, String, String)] {
        var found: [(String, String, String)] = []
        if case .map(let annotations)? = chart.metadata["Annotations"] {
            for key in ["artifacthub.io/images", "images"] {
                guard case .string(let text)? = annotations[key], let list = try? GoYAMLDecoder.decode(text).listValue else { continue }
                for item in list {
                    guard case .string(let image)? = item.mapValue?["image"], let reference = ChartRendering.normalise(image) else {
                        continue
                    }
                    found.append((path, reference, key))
                }
            }
        }
        for subchart in chart.subcharts {
            found += declaredImages(subchart, path: path + "/" + subchart.name)
        }
        return found
    }

    static func explain(_ image: BundlePredicate.ChartImage) -> String {
        let declared =
            image.found == .declared ? " (declared by the chart, not rendered by this install: an operator may launch it at run time)" : ""
        switch image.status {
        case .digestDiffers: return "the bundle has this tag with another digest" + declared
        case .platformSubset:
            return "the bundle has a platform subset of it, whose digest differs, so the pinned digest will not resolve after push"
                + declared
        case .missing, .inBundle, .notRendered, .disabled: return "not in the bundle" + declared
        }
    }
}

extension Array {
    var nilIfEmpty: [Element]? { isEmpty ? nil : self }
}
