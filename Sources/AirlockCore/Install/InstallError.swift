import Foundation

/// Why `airlock values` cannot write the site's values, worded once.
public enum InstallError: Error, Sendable, CustomStringConvertible {
    case badMapping(entry: String)
    case unreadableMapping(path: String, detail: String)
    case secretNotNamed(site: String, endpoint: String, readsFrom: String, add: String)
    case template(chart: String, detail: String)
    case notAMapping(chart: String, detail: String)

    public var description: String {
        switch self {
        case .badMapping(let entry): return "mapping.json: \(entry) is not HOST/REPOSITORY[:TAG] (give the mapping.json push wrote)"
        case .unreadableMapping(let path, let detail): return "\(path): not the mapping.json push writes (\(detail))"
        case .secretNotNamed(let site, let endpoint, let readsFrom, let add):
            return """
                \(site): endpoint \(endpoint) reads a credential from \(readsFrom), and no Kubernetes secret holds it at this \
                site — add under secrets: {endpoint: \(endpoint), \(add)}
                """
        case .template(let chart, let detail): return "chart \(chart): its installValues template failed: \(detail)"
        case .notAMapping(let chart, let detail):
            return "chart \(chart): its installValues template did not render a YAML mapping of values (\(detail)) — tell the vendor"
        }
    }
}
