import AirlockCore
import ArgumentParser
import Foundation
import Signing

/// Prints a failed report's cause and exits 1, or returns when it verified.
func requireVerified(_ report: VerificationReport) throws {
    guard report.verified else {
        throw AirlockFailure(message: "verification failed: \(report.failure ?? "unknown reason")", status: .checkFailed)
    }
}

/// Prints a verification report (JSON, or text for a verified bundle) and exits 1 if it failed.
func emitVerification(_ report: VerificationReport, _ output: OutputOptions, trailer: String = "") throws {
    if output.output == .json {
        try output.emit(report) { "" }
        if !report.verified { throw ExitCode(ExitStatus.checkFailed.rawValue) }
        return
    }
    try requireVerified(report)
    print(renderVerified(report) + trailer, terminator: "")
}
