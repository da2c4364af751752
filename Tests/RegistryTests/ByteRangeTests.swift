import Testing

@testable import Registry

/// `Range` headers as `airlock serve` reads them (RFC 9110 single byte ranges).
struct ByteRangeTests {
    @Test(arguments: [
        ("bytes=0-", 100, "0-99"),
        ("bytes=10-", 100, "10-99"),
        ("bytes=10-19", 100, "10-19"),
        ("bytes=90-1000", 100, "90-99"),  // a last byte beyond the end means the end
        ("bytes=-10", 100, "90-99"),  // the last 10 bytes
        ("bytes=-1000", 100, "0-99"),
        ("bytes=99-99", 100, "99-99"),
        ("bytes=100-", 100, "none"),  // starts past the end: 416
        ("bytes=20-10", 100, "none"),
        ("bytes=-0", 100, "none"),
        ("bytes=0-9,20-29", 100, "none"),  // several ranges are not served
        ("items=0-9", 100, "none"),
        ("bytes=a-b", 100, "none"),
        ("bytes=0-", 0, "none"),  // an empty blob has no bytes to ask for
    ])
    func readsOneByteRange(header: String, size: Int64, expected: String) {
        let range = RegistryServer.byteRange(header, size: size)
        #expect((range.map { "\($0.0)-\($0.1)" } ?? "none") == expected, "\(header) of \(size) bytes")
    }
}
