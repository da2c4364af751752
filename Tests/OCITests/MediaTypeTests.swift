import Foundation
import OCI
import Testing

struct MediaTypeTests {
    @Test(arguments: [
        ("application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.manifest.v1+json"),
        ("application/vnd.oci.image.index.v1+json; charset=utf-8", "application/vnd.oci.image.index.v1+json"),
        ("  application/json ;q=1", "application/json"),
    ])
    func aContentTypeHeaderNamesItsTypeWithoutParameters(header: String, type: String) {
        #expect(MediaType(contentType: header)?.rawValue == type)
    }

    @Test(arguments: [nil, "", " ", "; charset=utf-8"] as [String?])
    func noContentTypeNamesNoType(header: String?) {
        #expect(MediaType(contentType: header) == nil)
    }

    @Test func theClosedQuestionsAreAnsweredByType() {
        #expect(MediaType.ociIndex.isIndex && MediaType.dockerManifestList.isIndex && !MediaType.ociManifest.isIndex)
        #expect(MediaType.ociManifest.isManifest && MediaType.dockerManifest.isManifest && !MediaType.ociIndex.isManifest)
        #expect(MediaType.dockerManifestList.isIndexOrManifest && !MediaType.helmConfig.isIndexOrManifest)
        #expect(MediaType.dockerConfig.isImageConfig && !MediaType.helmConfig.isImageConfig)
        #expect(MediaType("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip").isNondistributable)
        #expect(MediaType("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip").isNondistributable)
        #expect(!MediaType.ociLayerGzip.isNondistributable)
        #expect(
            MediaType("application/vnd.dev.sigstore.bundle+json;version=0.1").isSigstoreBundle && MediaType.sigstoreBundle.isSigstoreBundle
        )
        #expect(MediaType.dockerSchema1Signed.isDockerSchema1 && !MediaType.dockerManifest.isDockerSchema1)
    }

    @Test func itIsWrittenAndReadAsAPlainString() throws {
        let descriptor = Descriptor(
            mediaType: .ociManifest,
            digest: try Digest(sha256Hex: String(repeating: "a", count: 64)),
            size: 7,
            artifactType: "application/vnd.example+json"
        )
        let json = String(decoding: try CanonicalJSON.encode(descriptor), as: UTF8.self)
        #expect(json.contains(#""mediaType":"application/vnd.oci.image.manifest.v1+json""#))
        #expect(json.contains(#""artifactType":"application/vnd.example+json""#))
        #expect(try JSONDecoder().decode(Descriptor.self, from: Data(json.utf8)) == descriptor)
    }

    @Test(arguments: [
        (
            #"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[]}"#,
            MediaType.dockerManifestList
        ),
        (#"{"schemaVersion":2,"manifests":[]}"#, MediaType.ociIndex),
        (#"{"schemaVersion":2,"config":{},"layers":[]}"#, MediaType.ociManifest),
    ])
    func aDocumentWithoutAHeaderSaysWhatItIs(document: String, type: MediaType) {
        #expect(ContentDocument.ownType(of: Array(document.utf8)) == type)
    }
}
