#!/usr/bin/env python3
"""Attaches artifacts to an image in a plain-HTTP registry the way the tools that make them do,
for registries without the OCI 1.1 referrers API (docker-registry 2.8):

- a cosign-style signature: an OCI manifest whose layer is a simple-signing payload, tagged
  sha256-<hex>.sig (cosign's tag scheme);
- an SPDX SBOM as an OCI 1.1 artifact (artifactType, empty config, subject = the image), pushed by
  digest, and the referrers tag schema's index listing it, tagged sha256-<hex>.

This stands in for cosign and oras, which are not installable here; the registry is real. With
--cosign-key KEY.pem the payload is signed as `cosign sign --key` signs it (ECDSA P-256 over
SHA-256, DER, base64 in the dev.cosignproject.cosign/signature annotation), by openssl; without,
the annotation holds a placeholder. --signed-digest D puts another digest in the payload.
--format v3 makes the signature as cosign 3 does instead: a Sigstore bundle (a DSSE envelope over
an in-toto statement of type https://sigstore.dev/cosign/sign/v1) as an OCI 1.1 referrer, listed
in the referrers tag schema's index beside the SBOM.
--attest TYPE adds an attestation of that predicate type in the same form (v2: a DSSE envelope under
the sha256-<hex>.att tag; v3: another Sigstore bundle referrer).
usage: seed-referrers.py HOST:PORT REPOSITORY TAG [--cosign-key KEY.pem] [--signed-digest D] [--format v2|v3] [--attest TYPE]   (prints the subject digest)
"""
import base64
import hashlib
import json
import subprocess
import sys
import urllib.request

HOST, REPO, TAG = sys.argv[1:4]
OPTIONS = dict(zip(sys.argv[4::2], sys.argv[5::2]))
BASE = "http://%s/v2/%s" % (HOST, REPO)
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def request(method, url, data=None, headers=None):
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    with urllib.request.urlopen(req) as answer:
        return answer.status, dict(answer.headers), answer.read()


def blob(data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    _, headers, _ = request("POST", BASE + "/blobs/uploads/")
    location = headers["Location"]
    if location.startswith("/"):
        location = "http://%s%s" % (HOST, location)
    request("PUT", location + ("&" if "?" in location else "?") + "digest=" + digest, data,
            {"Content-Type": "application/octet-stream"})
    return digest, len(data)


def manifest(document, media_type, reference):
    data = json.dumps(document, separators=(",", ":")).encode()
    request("PUT", "%s/manifests/%s" % (BASE, reference), data, {"Content-Type": media_type})
    return "sha256:" + hashlib.sha256(data).hexdigest(), len(data)


accept = ", ".join([OCI_MANIFEST, OCI_INDEX, "application/vnd.docker.distribution.manifest.v2+json",
                    "application/vnd.docker.distribution.manifest.list.v2+json"])
_, headers, body = request("GET", "%s/manifests/%s" % (BASE, TAG), headers={"Accept": accept})
subject = {"mediaType": headers["Content-Type"], "digest": "sha256:" + hashlib.sha256(body).hexdigest(), "size": len(body)}
hex_digest = subject["digest"].split(":")[1]

signed_digest = OPTIONS.get("--signed-digest", subject["digest"])


def sign(data):
    """As cosign sign --key does: ECDSA P-256 over SHA-256, DER, base64 (a placeholder without a key)."""
    if "--cosign-key" not in OPTIONS:
        return "MEUCIQDstand-in-signature"
    der = subprocess.run(["openssl", "dgst", "-sha256", "-sign", OPTIONS["--cosign-key"]], input=data, capture_output=True, check=True).stdout
    return base64.b64encode(der).decode()


empty_digest, empty_size = blob(b"{}")
listed = []
if OPTIONS.get("--format", "v2") == "v2":
    # cosign 2: a simple-signing payload under the sha256-<hex>.sig tag.
    payload = json.dumps({"critical": {"identity": {"docker-reference": "%s/%s" % (HOST, REPO)}, "image": {"docker-manifest-digest": signed_digest},
                                       "type": "cosign container image signature"}, "optional": None}).encode()
    layer_digest, layer_size = blob(payload)
    config_digest, config_size = blob(json.dumps({"architecture": "", "os": "", "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
                                                  "config": {}}).encode())
    manifest({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
              "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_size},
              "layers": [{"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json", "digest": layer_digest, "size": layer_size,
                          "annotations": {"dev.cosignproject.cosign/signature": sign(payload)}}]},
             OCI_MANIFEST, "sha256-%s.sig" % hex_digest)


def envelope(predicate_type, predicate):
    """A DSSE envelope over an in-toto statement about the image, signed as cosign signs it."""
    statement = json.dumps({"_type": "https://in-toto.io/Statement/v1", "predicateType": predicate_type, "predicate": predicate,
                            "subject": [{"name": "%s/%s" % (HOST, REPO), "digest": {"sha256": signed_digest.split(":")[1]}}]}).encode()
    kind = b"application/vnd.in-toto+json"
    pae = b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(statement), statement)
    return {"payload": base64.b64encode(statement).decode(), "payloadType": kind.decode(), "signatures": [{"sig": sign(pae)}]}


def referrer(predicate_type, predicate):
    """cosign 3: a Sigstore bundle holding that envelope, as an OCI 1.1 referrer listed in the tag schema's index."""
    BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"
    bundle = json.dumps({"mediaType": BUNDLE, "verificationMaterial": {"publicKey": {"hint": ""}, "tlogEntries": []},
                         "dsseEnvelope": envelope(predicate_type, predicate)}).encode()
    bundle_digest, bundle_size = blob(bundle)
    document = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": BUNDLE,
                "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty_digest, "size": empty_size},
                "layers": [{"mediaType": BUNDLE, "digest": bundle_digest, "size": bundle_size}], "subject": subject}
    data = json.dumps(document, separators=(",", ":")).encode()
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    manifest(document, OCI_MANIFEST, digest)
    listed.append({"mediaType": OCI_MANIFEST, "digest": digest, "size": len(data), "artifactType": BUNDLE})


PROVENANCE = {"buildDefinition": {"buildType": "https://example.com/build/v1"}, "runDetails": {"builder": {"id": "https://ci.example.com"}}}
if OPTIONS.get("--format", "v2") == "v2":
    if "--attest" in OPTIONS:
        # cosign 2: the attestation's DSSE envelope as a layer under the sha256-<hex>.att tag.
        layer = json.dumps(envelope(OPTIONS["--attest"], PROVENANCE)).encode()
        layer_digest, layer_size = blob(layer)
        manifest({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                  "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": empty_digest, "size": empty_size},
                  "layers": [{"mediaType": "application/vnd.dsse.envelope.v1+json", "digest": layer_digest, "size": layer_size,
                              "annotations": {"predicateType": OPTIONS["--attest"]}}]},
                 OCI_MANIFEST, "sha256-%s.att" % hex_digest)
else:
    # cosign 3: the signature (and the attestation) as Sigstore bundle referrers.
    referrer("https://sigstore.dev/cosign/sign/v1", {})
    if "--attest" in OPTIONS:
        referrer(OPTIONS["--attest"], PROVENANCE)

sbom_digest, sbom_size = blob(json.dumps({"spdxVersion": "SPDX-2.3", "name": REPO, "packages": []}).encode())
artifact = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": "application/spdx+json",
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty_digest, "size": empty_size},
            "layers": [{"mediaType": "application/spdx+json", "digest": sbom_digest, "size": sbom_size}],
            "subject": subject}
data = json.dumps(artifact, separators=(",", ":")).encode()
artifact_digest = "sha256:" + hashlib.sha256(data).hexdigest()
manifest(artifact, OCI_MANIFEST, artifact_digest)
manifest({"schemaVersion": 2, "mediaType": OCI_INDEX,
          "manifests": listed + [{"mediaType": OCI_MANIFEST, "digest": artifact_digest, "size": len(data), "artifactType": "application/spdx+json"}]},
         OCI_INDEX, "sha256-%s" % hex_digest)
print(subject["digest"])
