import Foundation

/// Parses `2026-11-01T00:00:00Z` (fractional seconds and offsets allowed) to Unix seconds.
public func parseRFC3339(_ text: String) -> Int64? {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    if let date = formatter.date(from: text) { return Int64(date.timeIntervalSince1970) }
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter.date(from: text).map { Int64($0.timeIntervalSince1970) }
}

/// `SOURCE_DATE_EPOCH` (seconds since 1970) when it is set, for reproducible output.
public func sourceDateEpoch() throws -> Int64? {
    guard let epoch = ProcessInfo.processInfo.environment["SOURCE_DATE_EPOCH"], !epoch.isEmpty else { return nil }
    guard let seconds = Int64(epoch), seconds >= 0 else {
        throw PackError.sourceDateEpoch(epoch)
    }
    return seconds
}

/// Formats Unix seconds as `2026-11-01T00:00:00Z`.
public func formatRFC3339(_ seconds: Int64) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    formatter.timeZone = TimeZone(identifier: "UTC")
    return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
}
