#!/usr/bin/env python3
"""A stand-in registry WITH the OCI 1.1 referrers API, which no registry installable here has
(Debian's docker-registry 2.8 predates it). Read-only, plain HTTP, serving one OCI image layout:
every image under the repository name given, plus an SPDX SBOM artifact (artifactType, empty
config, subject = the image) that only the referrers API lists - no fallback tag.

With --cut-blobs it also misbehaves the way some registries and proxies do, for the resume tests:
every other GET of a blob over 1 MiB (the first, the third, ...) stops after half of it (the
connection is closed), and the GETs between ignore Range and send the whole blob with 200.

With --pad-blobs every blob over 1 MiB comes with 16 bytes more than its descriptor declares.
GET /counts answers how many GETs each blob has had, for the tests.

With --redirect-blobs it stands for a registry that keeps blobs in object storage: /v2/ wants basic
auth (user "puller", password "pull-secret"), and a blob GET is answered with 307 to
http://localhost:PORT/storage/DIGEST (another host name, the same server), served without
auth. GET /storage-log answers, per storage GET, whether it came with an Authorization header.

With --page-referrers it also attaches an in-toto attestation artifact, and lists the referrers one
per page (`Link: <...>; rel="next"`), as Harbor and zot page long lists.

usage: referrers-registry.py PORT LAYOUT REPOSITORY REF_NAME [--cut-blobs] [--pad-blobs] [--redirect-blobs] [--page-referrers]
       (REF_NAME: the layout ref to attach to)
"""
import base64
import hashlib
import json
import os
import sys

from loopback import JSONHandler, serve

PORT, LAYOUT, REPO, REF = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
CUT = "--cut-blobs" in sys.argv[5:]
PAD = "--pad-blobs" in sys.argv[5:]
REDIRECT = "--redirect-blobs" in sys.argv[5:]
PAGE = "--page-referrers" in sys.argv[5:]
BASIC = "Basic " + base64.b64encode(b"puller:pull-secret").decode()
storage_log = []
gets = {}
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
blobs = {}
for name in os.listdir(os.path.join(LAYOUT, "blobs", "sha256")):
    with open(os.path.join(LAYOUT, "blobs", "sha256", name), "rb") as f:
        blobs["sha256:" + name] = f.read()
index = json.load(open(os.path.join(LAYOUT, "index.json")))
tags = {d["annotations"]["org.opencontainers.image.ref.name"]: d for d in index["manifests"]}
subject = tags[REF]


def add(data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    blobs[digest] = data
    return digest


empty = add(b"{}")
sbom = json.dumps({"spdxVersion": "SPDX-2.3", "name": REPO, "packages": []}).encode()
sbom_digest = add(sbom)
artifact = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": "application/spdx+json",
                       "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
                       "layers": [{"mediaType": "application/spdx+json", "digest": sbom_digest, "size": len(sbom)}],
                       "subject": {"mediaType": subject["mediaType"], "digest": subject["digest"], "size": subject["size"]}},
                      separators=(",", ":")).encode()
artifact_digest = add(artifact)
media_types = {d["digest"]: d["mediaType"] for d in index["manifests"]}
media_types[artifact_digest] = OCI_MANIFEST
referrers = [{"mediaType": OCI_MANIFEST, "digest": artifact_digest, "size": len(artifact), "artifactType": "application/spdx+json"}]
if PAGE:
    statement = json.dumps({"_type": "https://in-toto.io/Statement/v1", "predicateType": "https://slsa.dev/provenance/v1"}).encode()
    statement_digest = add(statement)
    attestation = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": "application/vnd.in-toto+json",
                              "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
                              "layers": [{"mediaType": "application/vnd.in-toto+json", "digest": statement_digest, "size": len(statement)}],
                              "subject": {"mediaType": subject["mediaType"], "digest": subject["digest"], "size": subject["size"]}},
                             separators=(",", ":")).encode()
    attestation_digest = add(attestation)
    media_types[attestation_digest] = OCI_MANIFEST
    referrers.append({"mediaType": OCI_MANIFEST, "digest": attestation_digest, "size": len(attestation),
                      "artifactType": "application/vnd.in-toto+json"})


def media_type(digest, data):
    if digest in media_types:
        return media_types[digest]
    try:
        return json.loads(data).get("mediaType", OCI_MANIFEST)
    except ValueError:
        return "application/octet-stream"


class Handler(JSONHandler):
    def send(self, status, data=b"", content_type="application/json", digest=None):
        self.answer(status, data, content_type, {"Docker-Content-Digest": digest} if digest else None)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        path = self.path.split("?")[0]
        if path == "/v2/":
            return self.send(200, b"{}")
        if path == "/counts":
            return self.send(200, json.dumps(gets).encode())
        if path == "/storage-log":
            return self.send(200, json.dumps(storage_log).encode())
        if REDIRECT and path.startswith("/storage/"):
            digest = path[len("/storage/"):]
            storage_log.append({"digest": digest, "authorization": "Authorization" in self.headers})
            if digest not in blobs:
                return self.send(404, b"")
            return self.send(200, blobs[digest], "application/octet-stream")
        if REDIRECT and self.headers.get("Authorization") != BASIC:
            return self.answer(401, {"errors": [{"code": "UNAUTHORIZED"}]}, headers={"WWW-Authenticate": 'Basic realm="stand-in"'})
        prefix = "/v2/%s/" % REPO
        if not path.startswith(prefix):
            return self.send(404, b'{"errors":[{"code":"NAME_UNKNOWN"}]}')
        kind, _, reference = path[len(prefix):].partition("/")
        if kind == "manifests":
            digest = tags[reference]["digest"] if reference in tags else reference
            if digest not in blobs:
                return self.send(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}')
            return self.send(200, blobs[digest], media_type(digest, blobs[digest]), digest)
        if kind == "blobs":
            if reference not in blobs:
                return self.send(404, b'{"errors":[{"code":"BLOB_UNKNOWN"}]}')
            data = blobs[reference]
            if PAD and len(data) > 1 << 20:
                data += b"\0" * 16
            if self.command == "GET":
                gets[reference] = gets.get(reference, 0) + 1
            if REDIRECT:
                location = "http://localhost:%d/storage/%s?expires=60" % (PORT, reference)
                return self.answer(307, b"", headers={"Location": location})
            if CUT and len(data) > 1 << 20 and self.command == "GET" and gets[reference] % 2 == 1:
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[:len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)
                return
            return self.send(200, data, "application/octet-stream", reference)
        if kind == "referrers":
            listed = referrers if reference.split("?")[0] == subject["digest"] else []
            if PAGE and listed:
                page = int(self.path.split("page=")[1]) if "page=" in self.path else 0
                body = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": listed[page:page + 1]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", OCI_INDEX)
                self.send_header("Content-Length", str(len(body)))
                if page + 1 < len(listed):
                    self.send_header("Link", '</v2/%s/referrers/%s?page=%d>; rel="next"' % (REPO, subject["digest"], page + 1))
                self.end_headers()
                self.wfile.write(body)
                return
            return self.send(200, json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": listed}).encode(), OCI_INDEX)
        self.send(404)


serve(Handler, PORT)
