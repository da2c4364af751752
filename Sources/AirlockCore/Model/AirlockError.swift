import BundleIO
import OCI
import Registry
import Signing
import StrictYAML

/// Why a pack, unpack, sign or push could not be done. Verification *outcomes* are reported as
/// ``VerificationReport`` values instead.
public enum AirlockError: Error, Sendable, CustomStringConvertible {
    /// Bad input from the user: a spec, a path, a flag value.
    case input(String)
    /// A verification failure that stops an operation (unpack, sign, extract).
    case verification(String)
    /// The content store holds bytes that do not match their digest.
    case corruptCache(String)
    /// Something this version of airlock cannot do yet.
    case unsupported(String)
    /// A file could not be written or read back: a full disk, permissions, a failing device.
    case io(String)

    public var description: String {
        switch self {
        case .input(let message), .verification(let message), .corruptCache(let message), .unsupported(let message), .io(let message):
            return message
        }
    }
}

/// The exit codes of the CLI, in one place.
public enum ExitStatus: Int32, Sendable {
    case ok = 0
    /// Verification or a check failed.
    case checkFailed = 1
    /// Usage or input error.
    case usage = 2
    /// Network or registry error.
    case network = 3
    /// A file could not be written or read back (disk full, permissions, a failing device).
    case io = 4
}

/// Maps any error to its exit status.
public func exitStatus(for error: any Error) -> ExitStatus {
    switch error {
    case let error as AirlockError:
        switch error {
        case .verification: return .checkFailed
        case .io: return .io
        case .input, .corruptCache, .unsupported: return .usage
        }
    case is InputError, is OCIError, is SigningError:
        return .usage
    case let error as ReadError:
        return error.isCheckFailure ? .checkFailed : .usage
    case let error as ChartError:
        if case .digestDiffers = error { return .checkFailed }
        return .usage
    case let error as SourceError:
        if case .blobDiffers = error { return .checkFailed }
        return .usage
    case let error as DeltaError:
        if case .baseLayerDiffers = error { return .checkFailed }
        return .usage
    case let error as RegistryError:
        return error.isContentFailure ? .checkFailed : .network
    case let error as RegistryServerError:
        if case .listen = error { return .network }
        return .usage
    case let error as BundleIOError:
        switch error {
        case .io: return .io
        default: return .checkFailed
        }
    default:
        return .usage
    }
}
