internal import COpenSSL

/// Reads and clears libcrypto's error queue, returning its newest message.
func takeOpenSSLError() -> String {
    var last = "unknown libcrypto error"
    while true {
        let code = ERR_get_error()
        if code == 0 { break }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        last = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
    return last
}

/// Turns a libcrypto return code (1 = success) into a thrown ``SigningError``.
func check(_ result: Int32, _ operation: String) throws {
    guard result == 1 else {
        throw SigningError.crypto(operation: operation, detail: takeOpenSSLError())
    }
}

/// Runs `body` with a read-only memory BIO over `bytes`.
func withReadBIO<T>(_ bytes: [UInt8], _ body: (OpaquePointer) throws -> T) throws -> T {
    try bytes.withUnsafeBytes { raw in
        guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else {
            throw SigningError.crypto(operation: "BIO_new_mem_buf", detail: takeOpenSSLError())
        }
        defer { BIO_free(bio) }
        return try body(bio)
    }
}

/// Runs `body` with a writable memory BIO and returns what it wrote.
func collectBIO(_ body: (OpaquePointer) throws -> Void) throws -> [UInt8] {
    guard let bio = BIO_new(BIO_s_mem()) else {
        throw SigningError.crypto(operation: "BIO_new", detail: takeOpenSSLError())
    }
    defer { BIO_free(bio) }
    try body(bio)
    var pointer: UnsafeMutablePointer<CChar>?
    let length = airlock_bio_get_mem_data(bio, &pointer)
    guard let pointer, length > 0 else { return [] }
    return pointer.withMemoryRebound(to: UInt8.self, capacity: length) {
        Array(UnsafeBufferPointer(start: $0, count: length))
    }
}
