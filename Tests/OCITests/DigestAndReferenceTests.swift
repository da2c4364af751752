import OCI
import Testing

struct DigestTests {
    @Test(arguments: [
        "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
        "sha512:" + String(repeating: "ab", count: 64),
    ])
    func acceptsWellFormedDigests(text: String) throws {
        #expect(try Digest(text).description == text)
    }

    @Test(arguments: [
        "", "sha256:", "sha256:abc", "md5:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
        "sha256:44136FA355B3678A1146AD16F7E8649E94FB4FC21FE77E8310C060F61CAAFF8A",
        "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
        "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a/../x",
    ])
    func refusesMalformedDigests(text: String) {
        #expect(throws: OCIError.self) { try Digest(text) }
    }

    @Test func layoutPathNamesTheBlob() throws {
        let digest = try Digest(sha256Hex: String(repeating: "0", count: 64))
        #expect(digest.layoutPath == "blobs/sha256/" + String(repeating: "0", count: 64))
    }
}

struct ImageReferenceTests {
    @Test(arguments: [
        ("nginx:1.27", "docker.io/library/nginx:1.27"),
        ("docker.io/library/nginx:1.27", "docker.io/library/nginx:1.27"),
        ("bitnami/redis:7", "docker.io/bitnami/redis:7"),
        ("localhost:5000/team/app:1.0", "localhost:5000/team/app:1.0"),
        ("registry.example.com/team/app:1.4.2", "registry.example.com/team/app:1.4.2"),
        (
            "ghcr.io/o/r@sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
            "ghcr.io/o/r@sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        ),
        (
            "host:5000/a/b:t@sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
            "host:5000/a/b:t@sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        ),
    ])
    func normalisesLikeDocker(input: String, expected: String) throws {
        #expect(try ImageReference(input).description == expected)
    }

    @Test(arguments: ["", "nginx", "UPPER/case:1", "a//b:1", "a/b:", "a/b:-bad", "a/b@sha256:xyz", "a/-b:1", "a/b_:1"])
    func refusesBadReferences(input: String) {
        #expect(throws: OCIError.self) { try ImageReference(input) }
    }

    @Test func platformsParseAndMatch() throws {
        let arm = try Platform(parsing: "linux/arm64/v8")
        #expect(arm.description == "linux/arm64/v8")
        #expect(arm.satisfies(try Platform(parsing: "linux/arm64")))
        #expect(!arm.satisfies(try Platform(parsing: "linux/amd64")))
        #expect(throws: OCIError.self) { try Platform(parsing: "linux") }
    }

    @Test func schema1ManifestsAreRefusedWithAClearMessage() {
        let bytes = Array(#"{"schemaVersion":1,"fsLayers":[]}"#.utf8)
        #expect(throws: OCIError.self) { try ContentDocument(bytes: bytes, declaredType: MediaType.dockerManifest) }
    }
}

struct RepositoryNameTests {
    @Test(arguments: ["team/app", "library/nginx", "mirror/charts/platform", "a", "a-b__c.d/e--f", "airlock/imports"])
    func acceptsTheDistributionSpecsNames(path: String) throws {
        #expect(try RepositoryName(path).path == path)
        #expect(try RepositoryName(path).description == path)
    }

    @Test(arguments: [
        "", "Team/app", "team//app", "/team/app", "team/app/", "team/-app", "team/app_", "team/a..b", "team/a___b",
        "team/app:1", "team/app@sha256", String(repeating: "a", count: 256),
    ])
    func refusesOtherPaths(path: String) {
        #expect(throws: OCIError.invalidRepository(path)) { try RepositoryName(path) }
    }

    @Test func imageReferencesGiveTheirRepositoryAndWhatToAskFor() throws {
        let tagged = try ImageReference("registry.example.com/team/app:1.4.2")
        #expect(tagged.repositoryName == (try RepositoryName("team/app")))
        #expect(tagged.manifestReference == .tag("1.4.2"))
        let digest = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        let pinned = try ImageReference("nginx:1.27@\(digest)")
        #expect(pinned.repositoryName.path == "library/nginx")
        #expect(pinned.manifestReference == .digest(try Digest(digest)), "a digest wins over the tag beside it")
    }
}

struct ManifestReferenceTests {
    @Test(arguments: [
        ("1.4.2", "tag"), ("latest", "tag"), ("sha256-44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a.att", "tag"),
        ("sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", "digest"),
    ])
    func tagsAndDigests(text: String, kind: String) throws {
        let reference = try ManifestReference(text)
        #expect(reference.description == text)
        #expect((reference.digest != nil ? "digest" : "tag") == kind)
    }

    @Test(arguments: ["", ".hidden", "-x", "a/b", "sha256:abc", "md5:0123", String(repeating: "t", count: 129)])
    func refusesWhatIsNeither(text: String) {
        #expect(throws: OCIError.self) { try ManifestReference(text) }
    }
}
