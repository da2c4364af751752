#!/usr/bin/env python3
"""A proxy in front of a real docker-registry that behaves as the registries customers run do
when they break naive clients. Each mode reproduces one behaviour reported by those registries'
users or handled in the mature clients' code (see the Swift tests that use each mode):

  usage: hostile-registry.py PORT UPSTREAM LOG [MODE ...] [--tls CERT KEY]

  ua403           403 with an HTML page to any request without a User-Agent (Docker Hub behind
                  Cloudflare: goharbor/harbor #23025, #23190)
  basic=USER:PASS the proxy itself demands these Basic credentials (the upstream registry is open)
  anon404         without Authorization: /v2/ answers 401 with a Basic challenge, every other
                  /v2/<name>/... request answers 404 (Nexus with anonymous access on: nexus-public #553)
  bare401         without Authorization: /v2/ answers 401 with a Basic challenge, every other
                  request 401 with no WWW-Authenticate (gcr.io, containers/image docker_client.go)
  negotiateFirst  every 401 carries a Negotiate challenge before the Basic one (SPNEGO proxies:
                  go-containerregistry PR #1075)
  ecrPatch        a chunk PATCH answers 201 instead of 202, with a stale Range (AWS ECR: regclient
                  blob.go, aws/containers-roadmap #2831)
  noMonolithic    a PUT that carries the whole blob is refused with 413 (Artifactory 6, proxies
                  with a body limit: docker/buildx #196); PATCH uploads pass
  mount401        POST ...?mount= answers 401 insufficient_scope (Harbor #17097, ggcr #1393)
  locHost         absolute upload Locations point at another host (a proxy with a wrong external
                  URL: distribution #2225)
  locHttp=PORT    (with --tls) upload Locations are rewritten to http://127.0.0.1:PORT (an HTTPS
                  downgrade: distribution #479); PORT is a plain listener of this proxy that
                  records any Authorization sent to it
  missingRepos=A,B  POST uploads, HEAD and GET for these repositories answer 404 NAME_UNKNOWN
                  (ECR, Quay organisations, Harbor projects: repositories must exist first)
  rateLimit=N     after N manifest GETs, every manifest GET answers 429 with RateLimit-* headers
                  and an HTTP-date Retry-After an hour ahead (Docker Hub)
  cutAfter=N      the first PUT of every blob (and the first PATCH of every session) is cut after N
                  body bytes (reset mid-upload; distribution then refuses to resume that session)
  noDigestHeader  HEAD of a manifest answers without Docker-Content-Digest (ECR Public, proxies)
  redirectManifests  a manifest GET answers 307 to the same path with ?cdn=1, served from there
                  (registries behind a CDN: containers/image manifest.go follows such redirects)
  cutDownloads=N   every blob GET is cut after N bytes of its body (a flaky link: each attempt
                  resumes with Range and gets N bytes further)
  slowPatch=SECONDS  every chunk PATCH waits this long before it is forwarded (a slow link)
  rejectArtifacts a manifest PUT with a subject, an artifactType or a non-image config answers 400
                  MANIFEST_INVALID (Artifactory 6: cosign #1994; Quay without OCI artifact
                  support; ECR "Invalid JSON syntax")
  redirectBlobs=PORT  a blob GET answers 307 to http://127.0.0.1:PORT/<same path>, another origin
                  (Docker Hub, ECR and GCR send blob downloads to object storage or a CDN with a
                  signed URL); that listener serves the blob from the upstream and logs whether an
                  Authorization header reached it (it must not: Go's net/http, and so
                  containers/image and go-containerregistry, drop it on a redirect to another host)
  rejectArtifactType  a manifest PUT with an artifactType field answers 400 MANIFEST_INVALID, images
                  and charts pass (registries that predate OCI 1.1's fields: the reason ORAS has
                  its compatibility mode, oras-project/oras#720, `--image-spec v1.0`)

Every request is logged to LOG as one JSON line: method, path, status, whether Authorization was
sent, the User-Agent.
"""
import http.client
import json
import socket
import ssl
import sys
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

PORT, UPSTREAM, LOG = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ARGS = sys.argv[4:]
TLS = None
if "--tls" in ARGS:
    i = ARGS.index("--tls")
    TLS = (ARGS[i + 1], ARGS[i + 2])
    ARGS = ARGS[:i] + ARGS[i + 3:]
MODES = {}
for arg in ARGS:
    name, _, value = arg.partition("=")
    MODES[name] = value
UP = urlsplit(UPSTREAM)
LOCK = threading.Lock()
STATE = {"manifestGets": 0, "cut": set()}


def log(entry):
    with LOCK:
        with open(LOG, "a") as handle:
            handle.write(json.dumps(entry) + "\n")


def error_body(code, message):
    return json.dumps({"errors": [{"code": code, "message": message}]}).encode()


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", headers=(), content_type="application/json"):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.logged(status)

    def logged(self, status):
        log({"method": self.command, "path": self.path, "status": status,
             "authorization": bool(self.headers.get("Authorization")), "userAgent": self.headers.get("User-Agent")})

    def challenge(self):
        headers = []
        if "negotiateFirst" in MODES:
            headers.append(("WWW-Authenticate", "Negotiate"))
        headers.append(("WWW-Authenticate", 'Basic realm="hostile"'))
        return headers

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def repository(self):
        path = urlsplit(self.path).path
        if not path.startswith("/v2/"):
            return None
        for marker in ("/blobs/", "/manifests/", "/tags/"):
            if marker in path:
                return path[len("/v2/"):path.index(marker)]
        return None

    def handle_any(self):
        path = urlsplit(self.path).path
        query = urlsplit(self.path).query
        authorized = self.headers.get("Authorization")
        if "ua403" in MODES and not self.headers.get("User-Agent"):
            self.body()
            return self.reply(403, b"<html><body>Forbidden</body></html>", content_type="text/html")
        if "basic" in MODES:
            import base64
            expected = "Basic " + base64.b64encode(MODES["basic"].encode()).decode()
            if authorized != expected:
                self.body()
                if path in ("/v2/", "/v2"):
                    return self.reply(401, error_body("UNAUTHORIZED", "authentication required"), self.challenge())
                if "anon404" in MODES and not authorized:
                    return self.reply(404, error_body("MANIFEST_UNKNOWN", "manifest unknown"))
                if "bare401" in MODES and not authorized:
                    return self.reply(401, error_body("UNAUTHORIZED", "authentication required"))
                return self.reply(401, error_body("UNAUTHORIZED", "authentication required"), self.challenge())
        repository = self.repository()
        if "missingRepos" in MODES and repository in MODES["missingRepos"].split(","):
            self.body()
            return self.reply(404, error_body("NAME_UNKNOWN", "The repository with name '%s' does not exist in the registry" % repository))
        if "mount401" in MODES and self.command == "POST" and "mount=" in query:
            self.body()
            return self.reply(401, error_body("UNAUTHORIZED", "insufficient scope"),
                              [("WWW-Authenticate", 'Basic realm="hostile",error="insufficient_scope"')])
        if "rateLimit" in MODES and self.command == "GET" and "/manifests/" in path:
            with LOCK:
                STATE["manifestGets"] += 1
                over = STATE["manifestGets"] > int(MODES["rateLimit"])
            if over:
                return self.reply(429, error_body("TOOMANYREQUESTS", "You have reached your pull rate limit."),
                                  [("Retry-After", formatdate(time.time() + 3600, usegmt=True)),
                                   ("RateLimit-Limit", "%s;w=3600" % MODES["rateLimit"]), ("RateLimit-Remaining", "0;w=3600")])
        if "redirectBlobs" in MODES and self.command == "GET" and "/blobs/sha256:" in path:
            self.body()
            return self.reply(307, b"", [("Location", "http://127.0.0.1:%s%s" % (MODES["redirectBlobs"], path))])
        if "redirectManifests" in MODES and self.command == "GET" and "/manifests/" in path and "cdn=1" not in query:
            self.body()
            return self.reply(307, b"", [("Location", path + "?cdn=1")])
        body = self.body()
        if "slowPatch" in MODES and self.command == "PATCH":
            time.sleep(float(MODES["slowPatch"]))
        if "rejectArtifacts" in MODES and self.command == "PUT" and "/manifests/" in path:
            try:
                document = json.loads(body)
            except ValueError:
                document = {}
            config = (document.get("config") or {}).get("mediaType", "")
            image_configs = ("application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json")
            if "subject" in document or "artifactType" in document or (config and config not in image_configs):
                return self.reply(400, error_body("MANIFEST_INVALID", "manifest invalid"))
        if "rejectArtifactType" in MODES and self.command == "PUT" and "/manifests/" in path and b'"artifactType"' in body:
            return self.reply(400, error_body("MANIFEST_INVALID", "manifest invalid"))
        if "noMonolithic" in MODES and self.command == "PUT" and "/blobs/uploads/" in path and len(body) > 0:
            return self.reply(413, b"<html>413 Request Entity Too Large</html>", content_type="text/html")
        if "cutAfter" in MODES and self.command in ("PUT", "PATCH") and "/blobs/uploads/" in path and len(body) > int(MODES["cutAfter"]):
            # Once per blob: the retry, in a new session, goes through.
            key = next((part for part in query.split("&") if part.startswith("digest=")), path.rsplit("/", 1)[-1])
            with LOCK:
                first = key not in STATE["cut"]
                STATE["cut"].add(key)
            if first:
                # Forward the first bytes as a PATCH, so the session holds part of the blob, then
                # drop the client's connection without an answer.
                self.forward("PATCH", self.path.split("?")[0], body[:int(MODES["cutAfter"])],
                             {"Content-Type": "application/octet-stream", "Content-Range": "0-%d" % (int(MODES["cutAfter"]) - 1)})
                self.logged("cut")
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
        headers = {name: value for name, value in self.headers.items() if name.lower() not in ("connection", "content-length", "host")}
        forwarded = self.path.replace("?cdn=1", "") if "redirectManifests" in MODES else self.path
        status, response_headers, data = self.forward(self.command, forwarded, body, headers)
        out = []
        for name, value in response_headers:
            lower = name.lower()
            if lower in ("connection", "content-length", "transfer-encoding", "content-type"):
                continue
            if lower == "location" and "/blobs/uploads/" in value:
                if "locHost" in MODES:
                    value = "http://upload.invalid:5000" + urlsplit(value).path + ("?" + urlsplit(value).query if urlsplit(value).query else "")
                if "locHttp" in MODES:
                    split = urlsplit(value)
                    value = "http://127.0.0.1:%s%s%s" % (MODES["locHttp"], split.path, "?" + split.query if split.query else "")
            if lower == "docker-content-digest" and "noDigestHeader" in MODES and self.command == "HEAD" and "/manifests/" in path:
                continue
            if lower == "range" and "ecrPatch" in MODES and self.command == "PATCH":
                value = "0-0"
            out.append((name, value))
        if "ecrPatch" in MODES and self.command == "PATCH" and status == 202:
            status = 201
        content_type = next((v for n, v in response_headers if n.lower() == "content-type"), "application/octet-stream")
        if "cutDownloads" in MODES and self.command == "GET" and "/blobs/sha256:" in path and len(data) > int(MODES["cutDownloads"]):
            self.send_response(status)
            for name, value in out:
                self.send_header(name, value)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[:int(MODES["cutDownloads"])])
            self.wfile.flush()
            self.logged("cut")
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        self.reply(status, data, out, content_type=content_type)

    def forward(self, method, path, body, headers):
        connection = http.client.HTTPConnection(UP.hostname, UP.port, timeout=60)
        headers = {name: value for name, value in headers.items() if name.lower() != "host"}
        headers["Host"] = self.headers.get("Host", "%s:%d" % (UP.hostname, UP.port))
        if self.headers.get("X-Forwarded-Proto") is None and TLS:
            headers["X-Forwarded-Proto"] = "https"
        connection.request(method, path, body=body if body else None, headers=headers)
        response = connection.getresponse()
        data = response.read()
        connection.close()
        return response.status, response.getheaders(), data

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


class Recorder(BaseHTTPRequestHandler):
    """The plain listener a downgraded Location points at: records what arrives, answers 400."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def handle_any(self):
        log({"method": self.command, "path": self.path, "status": 400, "downgraded": True,
             "authorization": bool(self.headers.get("Authorization")), "userAgent": self.headers.get("User-Agent")})
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        data = error_body("BLOB_UPLOAD_INVALID", "plain listener")
        self.send_response(400)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


class Storage(BaseHTTPRequestHandler):
    """The other origin a redirected blob GET lands on: serves the blob, records what arrived."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        log({"method": "GET", "path": self.path, "status": 200, "redirected": True,
             "authorization": bool(self.headers.get("Authorization")), "userAgent": self.headers.get("User-Agent")})
        connection = http.client.HTTPConnection(UP.hostname, UP.port, timeout=60)
        connection.request("GET", self.path)
        response = connection.getresponse()
        data = response.read()
        connection.close()
        self.send_response(response.status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


if "redirectBlobs" in MODES:
    storage = ThreadingHTTPServer(("127.0.0.1", int(MODES["redirectBlobs"])), Storage)
    storage.daemon_threads = True
    threading.Thread(target=storage.serve_forever, daemon=True).start()

if "locHttp" in MODES:
    plain = ThreadingHTTPServer(("127.0.0.1", int(MODES["locHttp"])), Recorder)
    plain.daemon_threads = True
    threading.Thread(target=plain.serve_forever, daemon=True).start()

server = ThreadingHTTPServer(("127.0.0.1", PORT), Proxy)
server.daemon_threads = True
if TLS:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(TLS[0], TLS[1])
    server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
