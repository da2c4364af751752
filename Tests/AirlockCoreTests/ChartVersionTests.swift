import HelmTemplate
import Testing

@testable import AirlockCore

struct VersionConstraintTests {
    /// Constraints as Helm (Masterminds semver v3) reads them, each with versions it must and must not match.
    @Test(arguments: [
        ("1.2.3", ["1.2.3", "v1.2.3"], ["1.2.4", "1.2.3-rc.1"]),
        ("~1.2.0", ["1.2.0", "1.2.9"], ["1.3.0", "1.1.9"]),
        ("~1.2", ["1.2.0", "1.2.7"], ["1.3.0"]),
        ("~1", ["1.0.0", "1.9.9"], ["2.0.0"]),
        ("^2", ["2.0.0", "2.99.1"], ["3.0.0", "1.9.9"]),
        ("^1.2.3", ["1.2.3", "1.9.0"], ["2.0.0", "1.2.2"]),
        ("^0.2.3", ["0.2.3", "0.2.9"], ["0.3.0"]),
        ("^0.0.3", ["0.0.3"], ["0.0.4"]),
        (">=1.0 <2.0", ["1.0.0", "1.9.9"], ["2.0.0", "0.9.0"]),
        (">=1.0, <2.0", ["1.5.0"], ["2.0.0"]),
        (">= 1.0", ["1.5.0"], ["0.5.0"]),
        ("1.2.x", ["1.2.0", "1.2.99"], ["1.3.0"]),
        ("1.x", ["1.0.0", "1.5.5"], ["2.0.0"]),
        ("*", ["0.0.1", "9.9.9"], ["1.0.0-alpha"]),
        (">1.2", ["1.3.0"], ["1.2.9"]),
        ("<=1.2", ["1.2.9"], ["1.3.0"]),
        ("!=1.2.3", ["1.2.4"], ["1.2.3"]),
        ("1.2 - 1.4.5", ["1.2.0", "1.4.5"], ["1.4.6", "1.1.9"]),
        ("<1.0 || >=3.0", ["0.9.0", "3.1.0"], ["2.0.0"]),
        (">=1.0.0-0", ["1.0.0-rc.1", "1.0.0"], []),
    ])
    func constraintsMatchAsHelmReadsThem(constraint: String, matching: [String], notMatching: [String]) throws {
        let parsed = try #require(VersionConstraint(constraint))
        for version in matching { #expect(parsed.matches(try #require(SemanticVersion(version))), "\(constraint) should match \(version)") }
        for version in notMatching {
            #expect(!parsed.matches(try #require(SemanticVersion(version))), "\(constraint) should not match \(version)")
        }
    }

    @Test func theBestMatchIsTheHighestAndPreReleasesSortFirst() throws {
        let versions = ["1.2.0", "1.10.0", "1.9.0", "1.10.0-rc.2", "2.0.0"].compactMap { SemanticVersion($0) }
        #expect(VersionConstraint("^1")?.best(of: versions)?.original == "1.10.0")
        #expect(try #require(SemanticVersion("1.0.0-rc.2")) < #require(SemanticVersion("1.0.0-rc.10")))
        #expect(try #require(SemanticVersion("1.0.0-alpha")) < #require(SemanticVersion("1.0.0-alpha.1")))
        #expect(VersionConstraint("") == nil && VersionConstraint(">= banana") == nil && VersionConstraint("1.2.3.4") == nil)
    }

    @Test func literalTemplateImagesAreFoundAndExpressionsSkipped() {
        let pinned = "registry.example.com/x/y@sha256:" + String(repeating: "a", count: 64)
        let template = Array(
            """
            containers:
              - name: a
                image: "busybox:1.36"
              - image: \(pinned) # pinned
              - name: b
                image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
            """.utf8
        )
        #expect(literalImages(in: template) == ["busybox:1.36", pinned])
    }
}
