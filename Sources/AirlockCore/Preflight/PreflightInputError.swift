import Foundation

/// Why `preflight` found nothing to check in what it was given, worded once.
public enum PreflightInputError: Error, Sendable, CustomStringConvertible {
    case noSuchPath(String)
    case noEndpoints(path: String)
    case noSuchEndpoint(name: String, path: String, known: [String])

    public var description: String {
        switch self {
        case .noSuchPath(let path):
            return "\(path) does not exist (give a bundle, an unpacked bundle folder, or a ModelEndpoint or Egress file)"
        case .noEndpoints(let path): return "\(path) holds no ModelEndpoint or Egress documents"
        case .noSuchEndpoint(let name, let path, let known):
            return "no endpoint named \(name) in \(path) (it has \(known.joined(separator: ", ")))"
        }
    }
}
