import Testing

@testable import Registry

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
