import Foundation

/// An HTTP/1.1 answer, read whole (bodies here are small JSON documents).
struct HTTPAnswer {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
}

extension ProbeConnection {
    /// Sends one request with `Connection: close` and reads the answer (at most 4 MiB).
    func exchange(
        method: String,
        target: String,
        host: String,
        headers: [(String, String)],
        body: [UInt8]?,
        what: String
    ) throws -> HTTPAnswer {
        var head =
            """
            \(method) \(target) HTTP/1.1\r\nHost: \(host)\r\nUser-Agent: airlock-preflight\r\nAccept: application/json\r\nConnection: \
            close\r\n
            """
        if let body { head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n" }
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        try send(Array((head + "\r\n").utf8) + (body ?? []), what: what)
        return try readAnswer(what: what, headOnly: false)
    }

    /// `CONNECT host:port` through a proxy; returns the proxy's status.
    func connectThroughProxy(authority: String) throws -> Int {
        let request = "CONNECT \(authority) HTTP/1.1\r\nHost: \(authority)\r\nUser-Agent: airlock-preflight\r\n\r\n"
        try send(Array(request.utf8), what: "asking the proxy to CONNECT \(authority)")
        return try readAnswer(what: "waiting for the proxy's answer to CONNECT \(authority)", headOnly: true).status
    }

    /// Reads a response head (and, unless `headOnly`, its body: Content-Length, chunked, or to EOF).
    private func readAnswer(what: String, headOnly: Bool) throws -> HTTPAnswer {
        var buffer: [UInt8] = []
        var headEnd: Int?
        while headEnd == nil {
            let chunk = try receive(limit: headOnly ? 1 : 64 << 10, what: what)
            guard !chunk.isEmpty else { throw ProbeFailure(kind: .http, message: "the connection closed before an HTTP answer (\(what))") }
            buffer += chunk
            headEnd = findHeadEnd(buffer)
            if buffer.count > 64 << 10 { throw ProbeFailure(kind: .http, message: "the HTTP answer's head is too large (\(what))") }
        }
        let headText = String(decoding: buffer[0..<headEnd!], as: UTF8.self)
        var lines = headText.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, statusLine[0].hasPrefix("HTTP/"), let status = Int(statusLine[1]) else {
            throw ProbeFailure(kind: .http, message: "not an HTTP answer (\(what))")
        }
        let headers = lines.compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        var answer = HTTPAnswer(status: status, headers: headers, body: Array(buffer[(headEnd! + 4)...]))
        if headOnly { return answer }
        let length = answer.header("Content-Length").flatMap(Int.init)
        let chunked = answer.header("Transfer-Encoding")?.lowercased().contains("chunked") ?? false
        while true {
            if let length, answer.body.count >= length { answer.body = Array(answer.body.prefix(length)); break }
            if chunked, let decoded = decodeChunked(answer.body) { answer.body = decoded; return answer }
            let chunk = try receive(what: what)
            if chunk.isEmpty { break }
            answer.body += chunk
            if answer.body.count > 4 << 20 { throw ProbeFailure(kind: .http, message: "the HTTP answer is larger than 4 MiB (\(what))") }
        }
        if chunked { answer.body = decodeChunked(answer.body) ?? answer.body }
        return answer
    }

    private func findHeadEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4)
        where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
            return index
        }
        return nil
    }

    /// The body of a complete chunked encoding, or nil while the last chunk has not arrived.
    private func decodeChunked(_ bytes: [UInt8]) -> [UInt8]? {
        var output: [UInt8] = []
        var index = 0
        while true {
            guard let lineEnd = (index..<max(index, bytes.count - 1)).first(where: { bytes[$0] == 13 && bytes[$0 + 1] == 10 }) else {
                return nil
            }
            let sizeText = String(decoding: bytes[index..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else { return nil }
            index = lineEnd + 2
            if size == 0 { return output }
            guard index + size + 2 <= bytes.count else { return nil }
            output += bytes[index..<(index + size)]
            index += size + 2
        }
    }
}
