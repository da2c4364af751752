import Foundation
import Hashing
import Signing
import Testing

struct SigningTests {
    @Test func preAuthenticationEncodingMatchesTheDSSETestVector() {
        let pae = DSSEEnvelope.preAuthenticationEncoding(payloadType: "http://example.com/HelloWorld", payload: Array("hello world".utf8))
        #expect(String(decoding: pae, as: UTF8.self) == "DSSEv1 29 http://example.com/HelloWorld 11 hello world")
    }

    @Test func sha256MatchesAKnownVector() {
        #expect(SHA256Hasher.hex(Array("{}".utf8)) == "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a")
    }

    @Test(arguments: KeyType.allCases)
    func signaturesVerifyAndTamperingIsDetected(type: KeyType) throws {
        let key = try PrivateKey.generate(type)
        let reread = try PublicKey(pem: try key.publicKey.pem())
        #expect(reread.keyID == key.publicKey.keyID)
        var envelope = DSSEEnvelope(payload: Array(#"{"a":1}"#.utf8))
        try envelope.sign(with: key)
        #expect(try envelope.check(trustedKeys: [reread]).isTrusted)

        var tampered = envelope
        tampered.payload = Data(#"{"a":2}"#.utf8).base64EncodedString()
        let check = try tampered.check(trustedKeys: [reread])
        #expect(!check.isTrusted)
        #expect(check.entries.first?.status == .invalid)

        let stranger = try PrivateKey.generate(type).publicKey
        #expect(try envelope.check(trustedKeys: [stranger]).entries.first?.status == .untrustedKey)
        #expect(try DSSEEnvelope(payload: [1]).check(trustedKeys: [reread]).isUnsigned)
    }

    @Test func encryptedKeysNeedTheRightPassphrase() throws {
        let key = try PrivateKey.generate(.ecdsaP256)
        let pem = try key.pkcs8PEM(passphrase: "s3cret")
        #expect(String(decoding: pem, as: UTF8.self).hasPrefix("-----BEGIN ENCRYPTED PRIVATE KEY-----"))
        #expect(throws: SigningError.passphraseRequired(path: "k")) { try PrivateKey(pem: pem, passphrase: nil, source: "k") }
        #expect(throws: SigningError.unreadableKey(path: "k", reason: "wrong passphrase")) {
            try PrivateKey(pem: pem, passphrase: "wrong", source: "k")
        }
        #expect(try PrivateKey(pem: pem, passphrase: "s3cret").publicKey.keyID == key.publicKey.keyID)
        let plain = try key.pkcs8PEM(passphrase: nil)
        #expect(String(decoding: plain, as: UTF8.self).hasPrefix("-----BEGIN PRIVATE KEY-----"))
    }

    @Test func ed25519SignaturesAreDeterministic() throws {
        let key = try PrivateKey.generate(.ed25519)
        #expect(try key.signature(for: [1, 2, 3]) == (try key.signature(for: [1, 2, 3])))
        #expect(try key.signature(for: [1, 2, 3]).count == 64)
    }

    @Test func certificateBundlesParseOrFailClearly() throws {
        #expect(throws: SigningError.self) { try parseCertificateBundle(Array("not a certificate".utf8)) }
        let damaged = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
        #expect(throws: SigningError.self) { try parseCertificateBundle(Array(damaged.utf8)) }
    }
}
