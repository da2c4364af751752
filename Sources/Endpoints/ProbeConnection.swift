internal import COpenSSL
import Foundation

/// Why a probe step failed, in the words its report uses.
struct ProbeFailure: Error {
    enum Kind: String { case dns, connect, proxy, tls, timeout, http }
    let kind: Kind
    let message: String
}

/// One certificate of the chain a server presented.
public struct CertificateSummary: Sendable, Codable, Equatable {
    public var subject: String
    public var issuer: String
}

/// A TCP connection, optionally upgraded to TLS with OpenSSL, with a deadline on every step. It
/// exists to report each step on its own (DNS, connect, proxy CONNECT, TLS, HTTP), which a
/// general-purpose HTTP client hides.
final class ProbeConnection {
    private var fd: Int32
    private var context: OpaquePointer?
    private var ssl: OpaquePointer?
    private let deadline: Date

    /// One address of a host, ready to connect to.
    struct Address {
        var family: Int32
        var socketType: Int32
        var socketProtocol: Int32
        var storage = sockaddr_storage()
        var length: socklen_t
        /// The address as text (`10.0.0.5`, `::1`).
        var text: String
    }

    /// Resolves `host` once; the connection then tries these addresses in order.
    static func resolve(_ host: String, port: Int) throws -> [Address] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &result)
        guard status == 0, let first = result else {
            throw ProbeFailure(kind: .dns, message: "cannot resolve \(host) (\(String(cString: gai_strerror(status))))")
        }
        defer { freeaddrinfo(first) }
        var addresses: [Address] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            cursor = info.pointee.ai_next
            var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            guard getnameinfo(info.pointee.ai_addr, info.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0
            else { continue }
            var address = Address(
                family: info.pointee.ai_family,
                socketType: info.pointee.ai_socktype,
                socketProtocol: info.pointee.ai_protocol,
                length: info.pointee.ai_addrlen,
                text: cText(buffer)
            )
            withUnsafeMutableBytes(of: &address.storage) {
                $0.copyMemory(from: UnsafeRawBufferPointer(start: info.pointee.ai_addr, count: Int(info.pointee.ai_addrlen)))
            }
            addresses.append(address)
        }
        return addresses
    }

    /// Connects to the first of `addresses` (of `host`) that answers before the deadline.
    init(addresses: [Address], host: String, port: Int, deadline: Date) throws {
        self.deadline = deadline
        self.fd = -1
        var lastError: Int32 = ECONNREFUSED
        for address in addresses {
            let socketFD = socket(address.family, address.socketType, address.socketProtocol)
            guard socketFD >= 0 else { lastError = errno; continue }
            _ = fcntl(socketFD, F_SETFL, fcntl(socketFD, F_GETFL) | O_NONBLOCK)
            let started = withUnsafeBytes(of: address.storage) {
                Glibc.connect(socketFD, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), address.length)
            }
            if started == 0 || errno == EINPROGRESS {
                fd = socketFD
                do {
                    try wait(for: Int16(POLLOUT), what: "connecting to \(host):\(port)")
                    var socketError: Int32 = 0
                    var length = socklen_t(MemoryLayout<Int32>.size)
                    getsockopt(socketFD, SOL_SOCKET, SO_ERROR, &socketError, &length)
                    if socketError == 0 { return }
                    lastError = socketError
                } catch let failure as ProbeFailure where failure.kind == .timeout {
                    Glibc.close(socketFD)
                    fd = -1
                    throw failure
                }
            } else {
                lastError = errno
            }
            Glibc.close(socketFD)
            fd = -1
        }
        throw ProbeFailure(kind: .connect, message: "cannot connect to \(host):\(port) (\(String(cString: strerror(lastError))))")
    }

    deinit { close() }

    func close() {
        if let ssl { SSL_free(ssl) }
        if let context { SSL_CTX_free(context) }
        ssl = nil
        context = nil
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    /// Waits until the socket is ready for `events`, or throws a timeout.
    private func wait(for events: Int16, what: String) throws {
        let remaining = deadline.timeIntervalSinceNow
        guard remaining > 0 else { throw ProbeFailure(kind: .timeout, message: "no answer while \(what)") }
        var descriptor = pollfd(fd: fd, events: events, revents: 0)
        let ready = poll(&descriptor, 1, Int32(min(remaining * 1000, Double(Int32.max))))
        guard ready > 0 else { throw ProbeFailure(kind: .timeout, message: "no answer while \(what)") }
    }

    // MARK: Plain bytes (before TLS, or the proxy's CONNECT exchange)

    func send(_ bytes: [UInt8], what: String) throws {
        if ssl != nil { return try sendTLS(bytes, what: what) }
        var offset = 0
        while offset < bytes.count {
            try wait(for: Int16(POLLOUT), what: what)
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                throw ProbeFailure(kind: .connect, message: "connection lost while \(what) (\(String(cString: strerror(errno))))")
            }
            offset += written
        }
    }

    /// Reads what is available (at most `limit` bytes); an empty answer means the peer closed.
    func receive(limit: Int = 64 << 10, what: String) throws -> [UInt8] {
        if ssl != nil { return try receiveTLS(limit: limit, what: what) }
        var buffer = [UInt8](repeating: 0, count: limit)
        while true {
            try wait(for: Int16(POLLIN), what: what)
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                throw ProbeFailure(kind: .connect, message: "connection lost while \(what) (\(String(cString: strerror(errno))))")
            }
            return Array(buffer[0..<count])
        }
    }

    // MARK: TLS

    struct TLSResult {
        var chain: [CertificateSummary]
        var version: String
        /// OpenSSL's verification error, nil when the chain and name verified.
        var verifyError: (code: Int, text: String)?
    }

    /// Performs the TLS handshake with the system trust store plus `extraCAs` (PEM). The chain is
    /// collected whether or not it verifies, so a failure can name the issuer.
    func startTLS(host: String, extraCAs: [UInt8]?) throws -> TLSResult {
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw tlsError("cannot create a TLS context") }
        self.context = context
        SSL_CTX_set_default_verify_paths(context)
        if let extraCAs, !extraCAs.isEmpty {
            let store = SSL_CTX_get_cert_store(context)
            let bio = extraCAs.withUnsafeBytes { BIO_new_mem_buf($0.baseAddress, Int32($0.count)) }
            defer { BIO_free(bio) }
            while let certificate = PEM_read_bio_X509(bio, nil, nil, nil) {
                X509_STORE_add_cert(store, certificate)
                X509_free(certificate)
            }
            ERR_clear_error()
        }
        SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
        guard let ssl = SSL_new(context) else { throw tlsError("cannot create a TLS session") }
        self.ssl = ssl
        let isAddress = host.contains(":") || host.allSatisfy { $0.isNumber || $0 == "." }
        if isAddress {
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host)
        } else {
            _ = airlock_tls_set_server_name(ssl, host)
            SSL_set1_host(ssl, host)
        }
        SSL_set_fd(ssl, fd)
        while true {
            let result = SSL_connect(ssl)
            if result == 1 { break }
            switch SSL_get_error(ssl, result) {
            case SSL_ERROR_WANT_READ: try wait(for: Int16(POLLIN), what: "the TLS handshake with \(host)")
            case SSL_ERROR_WANT_WRITE: try wait(for: Int16(POLLOUT), what: "the TLS handshake with \(host)")
            default: throw tlsError("handshake with \(host) failed")
            }
        }
        var chain: [CertificateSummary] = []
        if let stack = SSL_get_peer_cert_chain(ssl) {
            for index in 0..<airlock_sk_x509_num(stack) {
                guard let certificate = airlock_sk_x509_value(stack, index) else { continue }
                chain.append(
                    CertificateSummary(subject: name(X509_get_subject_name(certificate)), issuer: name(X509_get_issuer_name(certificate)))
                )
            }
        }
        let code = SSL_get_verify_result(ssl)
        let version = String(cString: SSL_get_version(ssl))
        let failure = code == X509_V_OK ? nil : (Int(code), String(cString: X509_verify_cert_error_string(code)))
        return TLSResult(chain: chain, version: version, verifyError: failure)
    }

    private func sendTLS(_ bytes: [UInt8], what: String) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { SSL_write(ssl, $0.baseAddress, Int32($0.count)) }
            if written > 0 { offset += Int(written); continue }
            switch SSL_get_error(ssl, written) {
            case SSL_ERROR_WANT_READ: try wait(for: Int16(POLLIN), what: what)
            case SSL_ERROR_WANT_WRITE: try wait(for: Int16(POLLOUT), what: what)
            default: throw tlsError("connection lost while \(what)")
            }
        }
    }

    private func receiveTLS(limit: Int, what: String) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: limit)
        while true {
            let count = buffer.withUnsafeMutableBytes { SSL_read(ssl, $0.baseAddress, Int32($0.count)) }
            if count > 0 { return Array(buffer[0..<Int(count)]) }
            switch SSL_get_error(ssl, count) {
            case SSL_ERROR_WANT_READ: try wait(for: Int16(POLLIN), what: what)
            case SSL_ERROR_WANT_WRITE: try wait(for: Int16(POLLOUT), what: what)
            case SSL_ERROR_ZERO_RETURN: return []
            case SSL_ERROR_SYSCALL where ERR_peek_error() == 0: return []
            default: throw tlsError("connection lost while \(what)")
            }
        }
    }

    private func tlsError(_ message: String) -> ProbeFailure {
        var details: [String] = []
        while case let code = ERR_get_error(), code != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            details.append(cText(buffer))
        }
        return ProbeFailure(kind: .tls, message: details.isEmpty ? message : "\(message) (\(details.last!))")
    }

    /// A distinguished name as `CN=..., O=...`.
    private func name(_ name: OpaquePointer?) -> String {
        guard let name, let bio = BIO_new(BIO_s_mem()) else { return "?" }
        defer { BIO_free(bio) }
        X509_NAME_print_ex(bio, name, 0, airlock_name_flags())
        var pointer: UnsafeMutablePointer<CChar>?
        let length = airlock_bio_get_mem_data(bio, &pointer)
        guard let pointer, length > 0 else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: pointer, count: Int(length)), as: UTF8.self)
    }
}

/// The text of a NUL-terminated C buffer.
private func cText(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
