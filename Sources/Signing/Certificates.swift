internal import CCrypto

/// One certificate from a PEM bundle, described for people.
public struct CertificateSummary: Sendable, Equatable {
    public let subject: String
    public let issuer: String
}

/// Parses every certificate of a PEM bundle; fails if there is none or one is damaged.
public func parseCertificateBundle(_ pem: [UInt8]) throws -> [CertificateSummary] {
    let text = String(decoding: pem, as: UTF8.self)
    let declared = text.components(separatedBy: "-----BEGIN CERTIFICATE-----").count - 1
    guard declared > 0 else { throw SigningError.badCertificates("no PEM certificate (BEGIN CERTIFICATE) found") }
    return try withReadBIO(pem) { bio in
        var summaries: [CertificateSummary] = []
        while let certificate = PEM_read_bio_X509(bio, nil, nil, nil) {
            defer { X509_free(certificate) }
            summaries.append(CertificateSummary(
                subject: describe(X509_get_subject_name(certificate)),
                issuer: describe(X509_get_issuer_name(certificate))))
        }
        _ = takeOpenSSLError()  // the loop ends on a "no start line" error
        guard summaries.count == declared else {
            throw SigningError.badCertificates("certificate \(summaries.count + 1) of \(declared) does not parse")
        }
        return summaries
    }
}

private func describe(_ name: OpaquePointer?) -> String {
    guard let name, let raw = X509_NAME_oneline(name, nil, 0) else { return "?" }
    defer { airlock_openssl_free(raw) }
    return String(cString: raw)
}
