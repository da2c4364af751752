import AirlockCore
import Foundation

/// The images, charts, endpoints, Egress documents and files a bundle holds.
func renderContents(_ contents: some BundleContentsListing) -> String {
    let (images, charts, endpoints, egress, files) = (contents.images, contents.charts, contents.endpoints, contents.egress, contents.files)
    var text = ""
    if !images.isEmpty {
        text += "images:\n"
        for image in images {
            let platforms = image.platforms.map { " [\($0.joined(separator: ", "))]" } ?? ""
            text += "  \(image.name)@\(image.digest)\(platforms)\n    from \(image.source)"
            text += image.sourceDigest.map { " (platform subset of index \($0))\n" } ?? "\n"
            for attestation in image.attestationManifests ?? [] {
                text += "    attestation manifest \(attestation.digest) for \(attestation.attests)\n"
            }
            for referrer in image.referrers ?? [] {
                text += "    referrer \(referrer.artifactType ?? referrer.mediaType) \(referrer.ref) (\(referrer.via))\n"
            }
        }
    }
    if !charts.isEmpty {
        text += "charts:\n"
        for chart in charts {
            text += "  \(chart.name) \(chart.version) (\(chart.ref), chart \(chart.chartDigest))\n"
            text += renderDependencies(chart.dependencies ?? [], indent: "    ")
            if let template = chart.installValues { text += "    install values template \(template) (airlock values fills it)\n" }
            if let rendered = chart.rendered {
                var how = "release \(rendered.releaseName) in namespace \(rendered.namespace), Kubernetes \(rendered.kubeVersion)"
                if let values = rendered.values {
                    how += ", values " + values.map { "\($0.path) (sha256 \($0.sha256.prefix(12)))" }.joined(separator: ", ")
                }
                if let set = rendered.set { how += ", set " + set.keys.sorted().map { "\($0)=\(set[$0]!)" }.joined(separator: ", ") }
                text += "    rendered \(rendered.templates) template(s) as \(how)\n"
            }
            let images = chart.images ?? []
            if !images.isEmpty {
                text += "    images:\n"
                for image in images {
                    var status = image.status.rawValue
                    if image.status == .disabled { status = "disabled (\(image.disabledBy ?? "off by default"))" }
                    if image.found == .declared { status += ", declared by the chart, not rendered" }
                    text += "      \(image.ref)  \(status)  [\(image.chart), \(image.from)]\n"
                }
            }
        }
    }
    if !endpoints.isEmpty {
        text += "endpoints:\n"
        for endpoint in endpoints {
            text += "  \(endpoint.name): \(endpoint.provider) at \(endpoint.host)\(endpoint.caFile != nil ? " (with CA file)" : "")\n"
        }
    }
    if let egress, !egress.isEmpty {
        text += "egress:\n"
        for document in egress { text += "  \(document.name): \(document.path) (airlock preflight checks its paths)\n" }
    }
    if !files.isEmpty {
        text += "files:\n"
        for file in files { text += "  \(file.path) (\(formatBytes(file.size)))\n" }
    }
    return text
}

func renderInspect(_ report: InspectReport) -> String {
    var text = "NOT VERIFIED: inspect reads the statement without checking signatures or digests; use airlock verify.\n"
    text += "bundle \(report.name) \(report.version), created \(report.created)\n"
    text += "format v\(report.formatVersion), made by airlock \(report.toolVersion)\n"
    text += "\(report.entries) entries, \(formatBytes(report.bytes)) of content in \(formatBytes(report.fileSize))\n"
    if let parts = report.parts {
        text += "split into \(parts.count) parts: " + parts.map { "\($0.path) (\(formatBytes($0.size)))" }.joined(separator: ", ") + "\n"
    }
    if let base = report.base {
        text += renderBase(title: base.title, registry: base.registry, blobs: base.blobs, bytes: base.bytes)
    }
    text +=
        report.signerKeyIDs.isEmpty
        ? "signatures: none (unsigned)\n"
        : "signatures claimed by key(s): \(report.signerKeyIDs.joined(separator: ", "))\n"
    return text
        + renderContents(report)
}

/// The line a delta bundle gets wherever it is shown.
func renderBase(title: String, registry: String?, blobs: Int, bytes: Int64) -> String {
    if let registry {
        return
            """
            delta: packed against \(title) and leaves out \(blobs) layer(s) (\(formatBytes(bytes))) that registry held; push it into \
            \(registry)\n
            """
    }
    return "delta: builds on \(title) and leaves out \(blobs) layer(s) (\(formatBytes(bytes))) that bundle carried; "
        + "push it into a registry that holds \(title), or give push and serve --base with that bundle\n"
}

func renderBase(_ base: BundlePredicate.Base) -> String {
    renderBase(title: base.title, registry: base.registry, blobs: base.blobs.count, bytes: base.blobs.reduce(0) { $0 + $1.size })
}

func renderVerified(_ report: VerificationReport) -> String {
    var text = "verified \(report.bundle): \(report.name ?? "?") \(report.version ?? "?"), created \(report.created ?? "?")\n"
    if report.unsigned {
        text += "WARNING: the bundle is UNSIGNED; accepted only because of --allow-unsigned\n"
    }
    for signature in report.signatures {
        text += renderSignature(signature)
    }
    text +=
        "\(report.entries + 1) entries, \(formatBytes(report.bytes)), every digest checked"
        + (report.parts.map { ", read from \($0) parts\n" } ?? "\n")
    if let base = report.base { text += renderBase(base) }
    text += renderImageSignatures(report.imageSignatures)
    return text
        + renderContents(report)
}

/// The subchart tree: name, version, alias, source, digest, and whether defaults switch it off.
func renderDependencies(_ dependencies: [BundlePredicate.ChartDependency], indent: String) -> String {
    dependencies.map { dependency in
        var line = "\(indent)└─ \(dependency.name) \(dependency.version)"
        if let alias = dependency.alias { line += " as \(alias)" }
        if let repository = dependency.repository, !repository.isEmpty { line += " from \(repository)" }
        if let digest = dependency.digest { line += " (\(digest.prefix(19))…)" }
        if !dependency.enabledByDefault { line += " [off by default\(dependency.condition.map { ": \($0)" } ?? "")]" }
        return line + "\n" + renderDependencies(dependency.dependencies ?? [], indent: indent + "   ")
    }.joined()
}

/// One line per image checked with --cosign-key.
func renderImageSignatures(_ results: [ImageSignatureCheck]?) -> String {
    (results ?? []).map { result in
        let what = result.attestation.map { " attestation \($0)" } ?? ""
        guard result.verified, let signer = result.keyID.map({ "key \($0)" }) ?? result.identity.map({ "keyless \($0)" }) else {
            return "cosign: \(result.image)\(what) NOT verified: \(result.problem ?? "?")\n"
        }
        let over =
            result.signedDigest == result.digest
            ? "" : " (over its source index \(result.signedDigest ?? "?"): the platform subset is the bundle signer's word)"
        return "cosign: \(result.image)\(what) signed by \(signer)\(over)\n"
    }.joined()
}

/// `signature by key KEYID: verified`, with the certificate's subject and issuer when it was
/// checked through one.
func renderSignature(_ signature: VerificationReport.SignatureResult) -> String {
    var line = "signature by key \(signature.keyID): \(signature.status.rawValue)"
    if let signer = signature.signer { line += " (certificate \(signer)\(signature.issuer.map { ", issued by \($0)" } ?? ""))" }
    if let detail = signature.detail { line += ": \(detail)" }
    return line + "\n"
}
