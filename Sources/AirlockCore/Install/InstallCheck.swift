import Foundation
import HelmTemplate
import OCI
import Registry

/// `airlock values --check`: renders each chart with its generated values, as `helm install`
/// will, and looks up every image the render names in the private registry (a HEAD of its
/// manifest, by digest when the reference pins one), so that an install cannot stop at
/// `ImagePullBackOff`. An image from any other registry fails too: the node would pull it from
/// outside.
struct InstallCheck {
    let source: any PushSource
    let host: String
    let targets: [SiteFacts.Target]
    let namespace: String

    func run(
        _ charts: [(chart: BundlePredicate.Chart, values: MapBox)],
        transport: TransportOptions
    ) async throws -> [InstallValues.Report.CheckedImage] {
        var wanted: [(chart: String, image: String)] = []
        for (chart, values) in charts {
            let what = "chart \(chart.name) \(chart.version)"
            let archive = try await source.bytes(of: BundleFormat.blobEntry(chart.chartDigest))
            let helmChart = try ChartRendering.load(files: try ChartRendering.archiveFiles(archive, name: what), origin: what)
            let settings = ChartRendering.InstallSettings(
                releaseName: chart.rendered?.releaseName ?? "release",
                namespace: namespace,
                kubeVersion: chart.rendered?.kubeVersion
            )
            let rendered = try ChartRendering.render(helmChart, values: values, settings: settings)
            var seen: Set<String> = []
            for image in try ChartRendering.images(in: rendered) where seen.insert(image.reference).inserted {
                wanted.append((chart.name, image.reference))
            }
        }
        let client = try RegistryClient(host: host, options: transport)
        return try await withShutdown({ await client.shutdown() }) {
            var checked: [InstallValues.Report.CheckedImage] = []
            for (chart, image) in wanted {
                let (ok, detail) = try await look(up: image, client: client)
                checked.append(.init(chart: chart, image: image, ok: ok, detail: detail))
            }
            return checked
        }
    }

    private func look(up image: String, client: RegistryClient) async throws -> (Bool, String) {
        guard let reference = try? ImageReference(image) else { return (false, "not an image reference") }
        guard reference.registry == host else {
            return (false, "not from the private registry \(host): the node would pull it from \(reference.registry)")
        }
        let expected = targets.first { target in
            target.kind == .image && target.repository == reference.repository
                && (reference.digest.map { $0.description == target.digest } ?? (target.tag == reference.tag))
        }
        let asked = reference.manifestReference
        let lookup = (asked.digest == nil ? ":" : "@") + asked.description
        guard let found = try await client.headManifest(reference.repositoryName, reference: asked) else {
            let hint = expected.map { "push the bundle that carries \($0.source)" } ?? "no image of this bundle lands there"
            return (false, "not in \(host) (HEAD \(reference.repository)\(lookup) found nothing) — \(hint)")
        }
        if reference.digest == nil, let expected, expected.digest != found.digest.description {
            return (false, "\(host) has this tag at \(found.digest), but the bundle pushed \(expected.digest) — the tag moved")
        }
        return (true, "present (\(found.digest))")
    }
}
