@testable import Registry
import Testing

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

/// `_catalog` and tag-list pages as `airlock serve` cuts them (`n`, `last`, and the next page's
/// `Link`), as the distribution API describes them.
struct ListPageTests {
    @Test(arguments: [
        ("/v2/_catalog", "a b c", "a b c", ""),
        ("/v2/_catalog?n=2", "c a b", "a b", "</v2/_catalog?n=2&last=b>; rel=\"next\""),
        ("/v2/_catalog?n=2&last=b", "a b c", "c", ""),
        ("/v2/_catalog?n=3", "a b c", "a b c", ""),  // a full last page has no next
        ("/v2/_catalog?last=a", "a b c", "b c", ""),
        ("/v2/_catalog?last=zz", "a b c", "", ""),
        ("/v2/_catalog?n=0", "a b", "", ""),
        ("/v2/team/app/tags/list?n=1", "1.0 2.0", "1.0", "</v2/team/app/tags/list?n=1&last=1.0>; rel=\"next\""),
        ("/v2/_catalog?n=x", "a", "invalid", ""),
        ("/v2/_catalog?n=-1", "a", "invalid", ""),
    ])
    func pages(uri: String, all: String, expected: String, link: String) {
        let names = all.split(separator: " ").map(String.init)
        guard let (page, headers) = RegistryServer.page(names, uri: uri) else {
            #expect(expected == "invalid", "\(uri)")
            return
        }
        #expect(page.joined(separator: " ") == expected, "\(uri)")
        #expect((headers.first(name: "Link") ?? "") == link, "\(uri)")
    }
}
