import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// When to try again and how long to wait: 429s by Retry-After or RateLimit headers, backoff, and
/// transport errors told apart.
extension RegistryClient {
    /// How long a 429 asks to wait: `Retry-After` in seconds or as an HTTP date, else the
    /// `RateLimit-Reset`/`RateLimit` window when nothing remains, else a short backoff.
    func rateLimitWait(_ answer: Response) -> (seconds: Double?, until: String, detail: String) {
        var seconds: Double?
        if let value = answer.header("Retry-After") {
            if let number = Double(value.trimmingCharacters(in: .whitespaces)) {
                seconds = number
            } else if let date = httpDate(value) {
                seconds = max(0, date.timeIntervalSinceNow)
            }
        }
        if seconds == nil, let reset = answer.header("RateLimit-Reset").flatMap({ Double($0.split(separator: ";").first ?? "") }) {
            seconds = reset
        }
        let until = seconds.map { ISO8601DateFormatter().string(from: Date().addingTimeInterval($0)) } ?? "later"
        var detail = ""
        if let limit = answer.header("RateLimit-Limit") {
            detail = "limit \(limit.split(separator: ";").first ?? "")"
            if let window = limit.split(separator: "w=").last, let window = Int(window) { detail += " per \(window) s" }
            if let remaining = answer.header("RateLimit-Remaining") {
                detail += ", \(remaining.split(separator: ";").first ?? "") remaining"
            }
        }
        return (seconds, until, detail)
    }

    func httpDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            formatter.dateFormat = format
            if let date = formatter.date(from: text) { return date }
        }
        return nil
    }

    /// Exponential backoff with equal jitter: 0.25, 0.5, 1, 2 s, each half fixed and half random,
    /// so four retries span about 2–4 s (a registry restart); or the server's Retry-After (≤ 60 s).
    func backoff(attempt: Int, retryAfter: Double?) async throws {
        await retryCounter.increment()
        let cap = 0.25 * pow(2, Double(attempt - 1))
        let delay = retryAfter.map { min($0, 60) } ?? (cap / 2 + Double.random(in: 0...(cap / 2)))
        try await Task.sleep(nanoseconds: UInt64(delay * 1_000_000_000))
    }

    /// Turns a transport error into a person's cause.
    func classify(_ error: any Error) -> RegistryError {
        let text = String(describing: error)
        let lowered = text.lowercased()
        if lowered.contains("certificate") || lowered.contains("handshake") || lowered.contains("ssl") || lowered.contains("tls") {
            let detail =
                lowered.contains("verify") || lowered.contains("certificate") ? "the server's certificate is not trusted" : compact(text)
            return .tls(host: host, detail: detail)
        }
        let cause: String
        if lowered.contains("connection refused") {
            cause = "connection refused"
        } else if lowered.contains("timeout") || lowered.contains("timed out") {
            cause = "timed out"
        } else if lowered.contains("dns") || lowered.contains("name resolution") || lowered.contains("host not found")
            || lowered.contains("nodename")
        {
            cause = "host name not found"
        } else if lowered.contains("invalidproxyresponse") || lowered.contains("proxyauthenticationrequired") {
            cause =
                """
                the proxy refused to connect (it answers 407 when it wants credentials: check the user and password in HTTPS_PROXY or \
                HTTP_PROXY)
                """
        } else if lowered.contains("remoteconnectionclosed") || lowered.contains("connection reset") {
            cause = "the connection was closed"
        } else {
            cause = compact(text)
        }
        if let proxyURL { return .unreachable(host: host, detail: "through proxy \(proxyURL): \(scrubbingCredentials(cause))") }
        return .unreachable(host: host, detail: scrubbingCredentials(cause))
    }

    func compact(_ text: String) -> String {
        let line = text.split(separator: "\n").first.map(String.init) ?? text
        return line.count > 200 ? String(line.prefix(200)) + "…" : line
    }
}
