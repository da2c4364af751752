/// One certificate from a PEM bundle, described for people.
public struct CertificateSummary: Sendable, Equatable {
    public let subject: String
    public let issuer: String
}

/// Parses every certificate of a PEM bundle; fails if there is none or one is damaged.
public func parseCertificateBundle(_ pem: [UInt8]) throws -> [CertificateSummary] {
    try CertificateHandle.readAll(pem, source: "the PEM file").map { CertificateSummary(subject: $0.subject, issuer: $0.issuer) }
}
