import BundleIO
import OCI
import Registry
import Signing
import StrictYAML

/// A file airlock writes could not be written or moved into place: a full disk, permissions, a
/// failing device (exit 4). Every other failure has a type of its own, per concern, with its
/// context and wording: ``PackError``, ``SourceError``, ``ChartError``, ``DeltaError``,
/// ``ReadError``, ``PushError``, ``AuditError``, ``PreflightInputError``, and the modules' own
/// (`RegistryError`, `BundleIOError`, `SigningError`, `OCIError`, `InputError` for airlock.yaml).
/// Verification *outcomes* are reported as ``VerificationReport`` values instead.
public enum AirlockError: Error, Sendable, CustomStringConvertible {
    case io(String)

    public var description: String {
        switch self {
        case .io(let message): return message
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
    case is AirlockError:
        return .io
    case is InputError, is OCIError, is SigningError:
        return .usage
    case is PreflightInputError, is InstallError:
        return .usage
    case let error as PackError:
        return error.isCheckFailure ? .checkFailed : .usage
    case let error as AuditError:
        return error.isCheckFailure ? .checkFailed : .usage
    case let error as PushError:
        return error.isCheckFailure ? .checkFailed : .usage
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
