#!/usr/bin/env python3
"""Keyless cosign signatures made offline, for airlock's tests: no Sigstore service is reachable
from here, so this builds its own trusted root (a Fulcio-like root CA and intermediate, a
Rekor-like log key, a timestamp authority run by `openssl ts -reply`), issues short-lived
certificates with Fulcio's extensions, logs entries by signing Rekor's entry timestamps and
checkpoints, and attaches the signatures to an image in a plain-HTTP registry in cosign 2's form
(the .sig tag, with certificate, chain, bundle and timestamp annotations) or cosign 3's (a Sigstore
bundle v0.3 referrer, with an inclusion proof). Needs Python's cryptography (.venv-sslib).

  keyless.py root DIR
  keyless.py sign DIR HOST REPO TAG [--format v2|v3] [--identity SAN] [--issuer URL] [--time tlog|tsa|none]
                                   [--attest TYPE] [--fault late|rogue|bad-set|bad-proof|other-entry|other-digest|legacy-issuer]

`sign` prints the image's digest. A fault makes one condition fail: late (logged after the
certificate expired), rogue (a CA outside the trusted root), bad-set (the entry timestamp signed
by another key), bad-proof (an inclusion proof to another root), other-entry (a log entry, or an
RFC 3161 timestamp, about another signature), other-digest (a valid signature over another image's
digest); --time none carries no proof of the signing time at all, legacy-issuer (the issuer in the legacy 1.3.6.1.4.1.57264.1.1 extension: not a fault).
"""
import base64
import datetime
import hashlib
import json
import os
import subprocess
import sys
import urllib.request

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"
NOW = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def b64(data):
    return base64.b64encode(data).decode()


def der(key):
    return key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def save_key(key, path):
    with open(path, "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


def load_key(path):
    with open(path, "rb") as handle:
        return serialization.load_pem_private_key(handle.read(), None)


def load_cert(path):
    with open(path, "rb") as handle:
        return x509.load_pem_x509_certificate(handle.read())


def certificate(subject, issuer_name, public_key, issuer_key, start, end, ca=False, extensions=()):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)] if subject else [])
    builder = (x509.CertificateBuilder().subject_name(name)
               .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]))
               .public_key(public_key).serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(issuer_key, hashes.SHA256())


def pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def make_root(folder):
    os.makedirs(folder, exist_ok=True)
    start, end = NOW - datetime.timedelta(days=1), NOW + datetime.timedelta(days=2)
    keys = {name: ec.generate_private_key(ec.SECP256R1()) for name in ["fulcio-root", "fulcio", "rogue", "rekor", "other-log", "tsa-root", "tsa"]}
    for name, key in keys.items():
        save_key(key, os.path.join(folder, name + ".key"))
    certs = {
        "fulcio-root": certificate("sigstore-test root", "sigstore-test root", keys["fulcio-root"].public_key(), keys["fulcio-root"], start, end, True),
        "rogue": certificate("rogue CA", "rogue CA", keys["rogue"].public_key(), keys["rogue"], start, end, True),
        "tsa-root": certificate("tsa-test root", "tsa-test root", keys["tsa-root"].public_key(), keys["tsa-root"], start, end, True),
    }
    certs["fulcio"] = certificate("sigstore-test intermediate", "sigstore-test root", keys["fulcio"].public_key(), keys["fulcio-root"], start, end, True)
    certs["tsa"] = certificate("tsa-test timestamping", "tsa-test root", keys["tsa"].public_key(), keys["tsa-root"], start, end,
                               extensions=[(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), True)])
    for name, cert in certs.items():
        with open(os.path.join(folder, name + ".pem"), "wb") as handle:
            handle.write(pem(cert))
    valid = {"start": start.strftime("%Y-%m-%dT%H:%M:%SZ")}
    root = {
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": [{"baseUrl": "https://rekor.airlock.test", "hashAlgorithm": "SHA2_256",
                   "publicKey": {"rawBytes": b64(der(keys["rekor"])), "keyDetails": "PKIX_ECDSA_P256_SHA_256", "validFor": valid},
                   "logId": {"keyId": b64(hashlib.sha256(der(keys["rekor"])).digest())}}],
        "certificateAuthorities": [{"subject": {"organization": "sigstore-test", "commonName": "sigstore-test"},
                                    "uri": "https://fulcio.airlock.test",
                                    "certChain": {"certificates": [{"rawBytes": b64(certs[name].public_bytes(serialization.Encoding.DER))}
                                                                   for name in ["fulcio", "fulcio-root"]]},
                                    "validFor": valid}],
        "ctlogs": [],
        "timestampAuthorities": [{"subject": {"organization": "tsa-test", "commonName": "tsa-test"}, "uri": "https://tsa.airlock.test",
                                  "certChain": {"certificates": [{"rawBytes": b64(certs[name].public_bytes(serialization.Encoding.DER))}
                                                                 for name in ["tsa", "tsa-root"]]},
                                  "validFor": valid}],
    }
    with open(os.path.join(folder, "trusted_root.json"), "w") as handle:
        json.dump(root, handle, indent=1)
    with open(os.path.join(folder, "tsa.cnf"), "w") as handle:
        handle.write("""[tsa]
default_tsa = tsa_config
[tsa_config]
serial = {0}/tsaserial
crypto_device = builtin
signer_cert = {0}/tsa.pem
certs = {0}/tsa-chain.pem
signer_key = {0}/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.57264.2
digests = sha256
accuracy = secs:1
ess_cert_id_alg = sha256
""".format(folder))
    with open(os.path.join(folder, "tsa-chain.pem"), "wb") as handle:
        handle.write(pem(certs["tsa"]) + pem(certs["tsa-root"]))


def leaf_certificate(folder, identity, issuer, fault):
    """A Fulcio-style certificate: ten minutes, codeSigning, the identity as SAN, the OIDC issuer."""
    key = ec.generate_private_key(ec.SECP256R1())
    ca_name = "rogue" if fault == "rogue" else "fulcio"
    ca_cert, ca_key = load_cert(os.path.join(folder, ca_name + ".pem")), load_key(os.path.join(folder, ca_name + ".key"))
    san = x509.RFC822Name(identity) if "@" in identity and "://" not in identity else x509.UniformResourceIdentifier(identity)
    encoded = issuer.encode()
    if fault == "legacy-issuer":
        issuer_extension = x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.1"), encoded)
    else:
        issuer_extension = x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8"), b"\x0c" + bytes([len(encoded)]) + encoded)
    cert = certificate("", ca_cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value, key.public_key(), ca_key,
                       NOW - datetime.timedelta(minutes=1), NOW + datetime.timedelta(minutes=9),
                       extensions=[(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), False),
                                   (x509.SubjectAlternativeName([san]), True), (issuer_extension, False)])
    chain = [load_cert(os.path.join(folder, name + ".pem")) for name in ([ca_name] if fault == "rogue" else ["fulcio", "fulcio-root"])]
    return key, cert, chain


def tree_hash(leaves):
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    split = 1 << ((len(leaves) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + tree_hash(leaves[:split]) + tree_hash(leaves[split:])).digest()


def audit_path(index, leaves):
    if len(leaves) == 1:
        return []
    split = 1 << ((len(leaves) - 1).bit_length() - 1)
    if index < split:
        return audit_path(index, leaves[:split]) + [tree_hash(leaves[split:])]
    return audit_path(index - split, leaves[split:]) + [tree_hash(leaves[:split])]


def log_entry(folder, body, fault, cert):
    """Rekor's entry for `body`: its signed entry timestamp and, for a 5-entry tree, the inclusion proof and checkpoint."""
    rekor = load_key(os.path.join(folder, "rekor.key"))
    signer = load_key(os.path.join(folder, "other-log.key")) if fault == "bad-set" else rekor
    log_id = hashlib.sha256(der(rekor)).digest()
    integrated = int((cert.not_valid_after_utc + datetime.timedelta(minutes=5) if fault == "late" else NOW).timestamp())
    index = 3
    promise = json.dumps({"body": b64(body), "integratedTime": integrated, "logID": log_id.hex(), "logIndex": index},
                         sort_keys=True, separators=(",", ":")).encode()
    set_signature = signer.sign(promise, ec.ECDSA(hashes.SHA256()))
    leaves = [b"entry-%d" % n for n in range(5)]
    leaves[index] = body
    root = tree_hash(leaves)
    proof_root = hashlib.sha256(b"another tree").digest() if fault == "bad-proof" else root
    note = "rekor.airlock.test - 2605736670972794746\n%d\n%s\n" % (len(leaves), b64(proof_root))
    hint = hashlib.sha256(der(rekor)).digest()[:4]
    checkpoint = note + "\n\u2014 rekor.airlock.test " + b64(hint + rekor.sign(note.encode(), ec.ECDSA(hashes.SHA256()))) + "\n"
    return {"logID": log_id, "logIndex": index, "integratedTime": integrated, "set": set_signature, "body": body,
            "proof": {"logIndex": str(index), "rootHash": b64(proof_root), "treeSize": str(len(leaves)),
                      "hashes": [b64(h) for h in audit_path(index, leaves)], "checkpoint": {"envelope": checkpoint}}}


def timestamp(folder, signature):
    """An RFC 3161 response over the signature's bytes from `openssl ts -reply` with the test TSA."""
    path = os.path.join(folder, "signature.bin")
    with open(path, "wb") as handle:
        handle.write(signature)
    subprocess.run(["openssl", "ts", "-query", "-data", path, "-sha256", "-cert", "-no_nonce", "-out", path + ".tsq"], check=True, capture_output=True)
    subprocess.run(["openssl", "ts", "-reply", "-config", os.path.join(folder, "tsa.cnf"), "-queryfile", path + ".tsq", "-out", path + ".tsr"],
                   check=True, capture_output=True)
    with open(path + ".tsr", "rb") as handle:
        return handle.read()


class Registry:
    def __init__(self, host, repo):
        self.host, self.base = host, "http://%s/v2/%s" % (host, repo)

    def request(self, method, url, data=None, headers=None):
        req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
        with urllib.request.urlopen(req) as answer:
            return answer.status, dict(answer.headers), answer.read()

    def blob(self, data):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        _, headers, _ = self.request("POST", self.base + "/blobs/uploads/")
        location = headers["Location"]
        if location.startswith("/"):
            location = "http://%s%s" % (self.host, location)
        self.request("PUT", location + ("&" if "?" in location else "?") + "digest=" + digest, data, {"Content-Type": "application/octet-stream"})
        return {"digest": digest, "size": len(data)}

    def manifest(self, document, media_type, reference):
        data = json.dumps(document, separators=(",", ":")).encode()
        self.request("PUT", "%s/manifests/%s" % (self.base, reference), data, {"Content-Type": media_type})
        return {"mediaType": media_type, "digest": "sha256:" + hashlib.sha256(data).hexdigest(), "size": len(data)}


def sign(folder, host, repo, tag, options):
    registry = Registry(host, repo)
    accept = ", ".join([OCI_MANIFEST, OCI_INDEX, "application/vnd.docker.distribution.manifest.v2+json",
                        "application/vnd.docker.distribution.manifest.list.v2+json"])
    _, headers, body = registry.request("GET", "%s/manifests/%s" % (registry.base, tag), headers={"Accept": accept})
    subject = {"mediaType": headers["Content-Type"], "digest": "sha256:" + hashlib.sha256(body).hexdigest(), "size": len(body)}
    fault = options.get("--fault", "")
    key, cert, chain = leaf_certificate(folder, options.get("--identity", "https://github.com/vendor/platform/.github/workflows/release.yml@refs/heads/main"),
                                        options.get("--issuer", "https://token.actions.githubusercontent.com"), fault)
    cert_pem = pem(cert)
    use_tlog = options.get("--time", "tlog") == "tlog"
    use_tsa = options.get("--time", "tlog") == "tsa"
    signed_digest = "sha256:" + "ab" * 32 if fault == "other-digest" else subject["digest"]
    predicate = options.get("--attest")
    if options.get("--format", "v2") == "v2":
        if predicate:
            raise SystemExit("--attest is made in the v3 form only")
        payload = json.dumps({"critical": {"identity": {"docker-reference": "%s/%s" % (host, repo)},
                                           "image": {"docker-manifest-digest": signed_digest}, "type": "cosign container image signature"},
                              "optional": None}).encode()
        signature = key.sign(payload, ec.ECDSA(hashes.SHA256()))
        logged = signature if fault != "other-entry" else key.sign(b"something else", ec.ECDSA(hashes.SHA256()))
        annotations = {"dev.cosignproject.cosign/signature": b64(signature), "dev.sigstore.cosign/certificate": cert_pem.decode(),
                       "dev.sigstore.cosign/chain": b"".join(pem(c) for c in chain).decode()}
        if use_tlog:
            entry_body = json.dumps({"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
                "data": {"hash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()}},
                "signature": {"content": b64(logged), "publicKey": {"content": b64(cert_pem)}}}}, separators=(",", ":")).encode()
            entry = log_entry(folder, entry_body, fault, cert)
            annotations["dev.sigstore.cosign/bundle"] = json.dumps({"SignedEntryTimestamp": b64(entry["set"]), "Payload": {
                "body": b64(entry_body), "integratedTime": entry["integratedTime"], "logIndex": entry["logIndex"], "logID": entry["logID"].hex()}})
        elif use_tsa:
            annotations["dev.sigstore.cosign/rfc3161timestamp"] = json.dumps({"SignedRFC3161Timestamp": b64(timestamp(folder, logged))})
        layer = registry.blob(payload)
        config = registry.blob(json.dumps({"architecture": "", "os": "", "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]}, "config": {}}).encode())
        registry.manifest({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": dict(config, mediaType="application/vnd.oci.image.config.v1+json"),
                           "layers": [dict(layer, mediaType="application/vnd.dev.cosign.simplesigning.v1+json", annotations=annotations)]},
                          OCI_MANIFEST, "sha256-%s.sig" % subject["digest"].split(":")[1])
        print(subject["digest"])
        return
    # cosign 3: a DSSE envelope over an in-toto statement, in a Sigstore bundle referrer.
    listed = []
    for predicate_type in ["https://sigstore.dev/cosign/sign/v1"] + ([predicate] if predicate else []):
        statement = json.dumps({"_type": "https://in-toto.io/Statement/v1", "predicateType": predicate_type, "predicate": {},
                                "subject": [{"name": "%s/%s" % (host, repo), "digest": {"sha256": signed_digest.split(":")[1]}}]}).encode()
        kind = b"application/vnd.in-toto+json"
        signature = key.sign(b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(statement), statement), ec.ECDSA(hashes.SHA256()))
        logged = signature if fault != "other-entry" else key.sign(b"something else", ec.ECDSA(hashes.SHA256()))
        material = {"certificate": {"rawBytes": b64(cert.public_bytes(serialization.Encoding.DER))}, "tlogEntries": []}
        if use_tlog:
            entry_body = json.dumps({"apiVersion": "0.0.1", "kind": "dsse", "spec": {
                "envelopeHash": {"algorithm": "sha256", "value": hashlib.sha256(statement).hexdigest()},
                "payloadHash": {"algorithm": "sha256", "value": hashlib.sha256(statement).hexdigest()},
                "signatures": [{"signature": b64(logged), "verifier": b64(cert_pem)}]}}, separators=(",", ":")).encode()
            entry = log_entry(folder, entry_body, fault, cert)
            material["tlogEntries"] = [{"logIndex": str(entry["logIndex"]), "logId": {"keyId": b64(entry["logID"])},
                                        "kindVersion": {"kind": "dsse", "version": "0.0.1"}, "integratedTime": str(entry["integratedTime"]),
                                        "inclusionPromise": {"signedEntryTimestamp": b64(entry["set"])},
                                        "inclusionProof": entry["proof"], "canonicalizedBody": b64(entry_body)}]
        elif use_tsa:
            material["timestampVerificationData"] = {"rfc3161Timestamps": [{"signedTimestamp": b64(timestamp(folder, logged))}]}
        bundle = json.dumps({"mediaType": BUNDLE, "verificationMaterial": material, "dsseEnvelope": {
            "payload": b64(statement), "payloadType": kind.decode(), "signatures": [{"sig": b64(signature)}]}}).encode()
        empty = registry.blob(b"{}")
        layer = registry.blob(bundle)
        document = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": BUNDLE,
                    "config": dict(empty, mediaType="application/vnd.oci.empty.v1+json"), "layers": [dict(layer, mediaType=BUNDLE)], "subject": subject}
        data = json.dumps(document, separators=(",", ":")).encode()
        descriptor = registry.manifest(document, OCI_MANIFEST, "sha256:" + hashlib.sha256(data).hexdigest())
        listed.append(dict(descriptor, artifactType=BUNDLE))
    registry.manifest({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": listed}, OCI_INDEX, "sha256-%s" % subject["digest"].split(":")[1])
    print(subject["digest"])


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "root":
        make_root(sys.argv[2])
    elif len(sys.argv) >= 6 and sys.argv[1] == "sign":
        sign(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], dict(zip(sys.argv[6::2], sys.argv[7::2])))
    else:
        sys.exit(__doc__)
