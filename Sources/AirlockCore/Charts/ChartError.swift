import Foundation
import OCI

/// Why a chart could not be packaged, its dependencies resolved, or it could not be rendered:
/// each case with what it concerns, the wording here only. `what` names the spec entry or the
/// dependency (`airlock.yaml:9: chart ./charts/platform: dependency redis`).
public enum ChartError: Error, Sendable, CustomStringConvertible {
    // The chart itself.
    case noChartYAML(what: String)
    case noChartYAMLInArchive(what: String)
    /// Not a chart `.tgz` (`orFolder`: a path that could have been a folder too).
    case notAnArchive(what: String, detail: String, orFolder: Bool)
    case unreadableFile(what: String, file: String)
    case noSuchChart(path: String)
    case unreadable(path: String)
    case archiveTooLarge(name: String, limitMiB: Int64)
    /// What Helm's loader said (its own words).
    case invalid(String)
    // Rendering it.
    case valuesFile(file: String, problem: String)
    case render(chart: String, detail: String)
    case notYAML(template: String, detail: String)
    // Its dependencies.
    case nestedTooDeep(what: String)
    /// A problem `--strict` turns from a warning into a failure.
    case strict(String)
    case repositoryAlias(what: String)
    case noRepository(what: String)
    case badVersion(what: String, version: String)
    /// The repository URL has a scheme airlock does not fetch from (`allowed` says which do).
    case badRepositoryURL(what: String, allowed: String)
    case wrongChart(what: String, found: String, wanted: String)
    case notAChartFolder(what: String, folder: String)
    case folderVersion(what: String, version: String, constraint: String)
    case noChartNamed(what: String, name: String)
    /// No version meets the range (`source`: "repository" or "registry").
    case noVersionMeets(what: String, constraint: String, source: String, newest: String)
    case noVersion(what: String, version: String, newest: String)
    case badReference(what: String, detail: String)
    case notVendored(what: String, dependency: String)
    case notAnIndex(what: String, url: String)
    case noURL(what: String)
    // Charts stored in registries.
    case noNameAndVersion(what: String)
    case notAHelmChart(what: String, expected: MediaType)
    case linkInChart(what: String, path: String)
    case noNameOrVersion(name: String)
    /// A loaded chart (or subchart) without its Chart.yaml.
    case loadedWithoutChartYAML(name: String)
    /// A downloaded archive that is not what the repository's index says (a verification failure).
    case digestDiffers(what: String, url: String, digest: String)

    public var description: String {
        switch self {
        case .noChartYAML(let what): return "\(what) has no Chart.yaml"
        case .noChartYAMLInArchive(let what): return "\(what) holds no <chart>/Chart.yaml"
        case .notAnArchive(let what, let detail, true): return "\(what) is neither a chart directory nor a chart .tgz: \(detail)"
        case .notAnArchive(let what, let detail, false): return "\(what) is not a chart .tgz: \(detail)"
        case .unreadableFile(let what, let file): return "\(what): cannot read \(file)"
        case .noSuchChart(let path): return "\(path): no such chart folder or archive"
        case .unreadable(let path): return "\(path): cannot read it"
        case .archiveTooLarge(let name, let limit): return "\(name): chart archive unpacks to more than \(limit) MiB"
        case .invalid(let message): return message
        case .valuesFile(let file, let problem): return "values file \(file): \(problem)"
        case .render(let chart, let detail): return "chart \(chart): \(detail)"
        case .notYAML(let template, let detail): return "chart template \(template) does not render to YAML: \(detail)"
        case .nestedTooDeep(let what): return "\(what): file:// dependencies nested deeper than 16 levels (a cycle?)"
        case .strict(let message): return "--strict: " + message
        case .repositoryAlias(let what):
            return """
                \(what): repository aliases name entries of helm's own repository list, which airlock does not read; write the \
                repository's URL instead
                """
        case .noRepository(let what): return "\(what): no repository is given and charts/ does not hold it; add repository: with a URL"
        case .badVersion(let what, let version):
            return "\(what): version \"\(version)\" is neither a version nor a range such as ~1.2.0 or >=1.0 <2.0"
        case .badRepositoryURL(let what, let allowed): return "\(what): the repository must be \(allowed)"
        case .wrongChart(let what, let found, let wanted): return "\(what): the archive holds chart \(found), not \(wanted)"
        case .notAChartFolder(let what, let folder): return "\(what): \(folder) is not a chart folder"
        case .folderVersion(let what, let version, let constraint):
            return "\(what): the folder holds version \(version), which does not meet \(constraint)"
        case .noChartNamed(let what, let name): return "\(what): the repository has no chart named \(name)"
        case .noVersionMeets(let what, let constraint, let source, let newest):
            return "\(what): no version meets \(constraint) (the \(source) has \(newest))"
        case .noVersion(let what, let version, let newest): return "\(what): no version \(version) (newest: \(newest))"
        case .badReference(let what, let detail): return "\(what): \(detail)"
        case .notVendored(let what, let dependency):
            return """
                \(what): it declares dependency \(dependency) but does not carry it in charts/ (Helm would refuse to install it); \
                vendor it upstream, or use the chart's folder through file://
                """
        case .notAnIndex(let what, let url): return "\(what): \(url) is not a chart repository index"
        case .noURL(let what): return "\(what): the index lists no URL for it"
        case .noNameAndVersion(let what): return "\(what): chart config has no name and version"
        case .notAHelmChart(let what, let expected): return "\(what) is not a Helm chart (its config is not \(expected))"
        case .linkInChart(let what, let path):
            return "\(what): \(path) is a link or special file; charts are packaged from regular files only"
        case .noNameOrVersion(let name): return "\(name): Chart.yaml has no name or version"
        case .loadedWithoutChartYAML(let name): return "\(name) holds no Chart.yaml"
        case .digestDiffers(let what, let url, let digest): return "\(what): \(url) does not match the digest \(digest) in index.yaml"
        }
    }
}
