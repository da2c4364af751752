import Foundation
import Registry
import TestSupport
import Testing

@Suite(.removesTemporaryFolders)
struct AuthChallengeTests {
    @Test func parsesBearerChallengesWithQuotedCommas() throws {
        let challenge = try #require(
            AuthChallenge(header: #"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#)
        )
        #expect(challenge.scheme == .bearer)
        #expect(challenge.realm == "https://auth.example/token")
        #expect(challenge.service == "registry.example")
        #expect(challenge.scope == "repository:a/b:pull,push")
    }

    @Test func parsesBasicAndSkipsUnknownSchemes() throws {
        #expect(AuthChallenge(header: #"Basic realm="Registry Realm""#)?.scheme == .basic)
        #expect(AuthChallenge(header: #"Negotiate abc, Basic realm="x""#)?.scheme == .basic)
        #expect(AuthChallenge(header: "Negotiate") == nil)
    }

    @Test(arguments: [
        (["Negotiate", #"Basic realm="x""#], AuthChallenge.Scheme.basic, nil as String?),
        ([#"Basic realm="x""#, #"Bearer realm="https://t/token",service="s""#], .bearer, nil),
        ([#"Negotiate abc==, Bearer realm="https://t/token",error="insufficient_scope""#], .bearer, "insufficient_scope"),
    ])
    func theBestOfEveryChallengeIsAnswered(headers: [String], scheme: AuthChallenge.Scheme, error: String?) throws {
        let challenge = try #require(AuthChallenge.best(in: headers))
        #expect(challenge.scheme == scheme && challenge.error == error)
    }

    @Test(arguments: [
        ("cannot reach http://user:p4ss@proxy:3128 now", "cannot reach http://proxy:3128 now"),
        ("https://a:b@h/x and http://c@d", "https://h/x and http://d"),
        ("no credentials here", "no credentials here"),
    ])
    func credentialsAreScrubbedFromEveryURLInAMessage(text: String, scrubbed: String) {
        #expect(scrubbingCredentials(text) == scrubbed)
    }

    @Test func aProxyURLKeepsItsCredentialsApartFromWhatIsShown() throws {
        let proxy = try #require(ProxySetting("http://builder:pa%40ss@proxy.corp:8080"))
        #expect(proxy.host == "proxy.corp" && proxy.port == 8080 && proxy.username == "builder" && proxy.password == "pa@ss")
        #expect(proxy.display == "http://proxy.corp:8080")
    }

    @Test func noProxyRulesMatchHostsAndSuffixes() {
        let options = TransportOptions(environment: ["HTTPS_PROXY": "http://proxy:3128", "no_proxy": "localhost,.corp.internal,10.0.0.1"])
        #expect(options.proxy(for: "registry.example.com", plainHTTP: false) == "http://proxy:3128")
        #expect(options.proxy(for: "localhost:5000", plainHTTP: false) == nil)
        #expect(options.proxy(for: "harbor.corp.internal", plainHTTP: false) == nil)
        #expect(options.proxy(for: "registry.example.com", plainHTTP: true) == nil, "no HTTP_PROXY set")
    }

    @Test func credentialsComeFromDockerConfigAndNeverPrintTheSecret() throws {
        let folder = try Harness.temporaryDirectory("creds")
        let store = CredentialStore(environment: ["DOCKER_CONFIG": folder, "HOME": folder])
        #expect(try store.credential(for: "r.example:5000") == nil)
        try store.store(username: "alice", password: "pa:ss", for: "r.example:5000")
        let credential = try #require(try store.credential(for: "r.example:5000"))
        #expect(credential == .basic(username: "alice", password: "pa:ss"))
        #expect(!"\(credential)".contains("pa:ss"))
        let mode = try FileManager.default.attributesOfItem(atPath: "\(folder)/config.json")[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o600)
    }
}
