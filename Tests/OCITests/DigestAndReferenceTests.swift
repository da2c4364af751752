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
