#!/usr/bin/env python3
"""A small token issuer for docker-registry's `auth: token` (the Docker token protocol), over HTTPS.
The registry itself validates the tokens: ES256 JWTs whose x5c header carries the signing
certificate, which the registry trusts through `rootcertbundle`.

usage: token-issuer.py PORT TLS_CERT TLS_KEY SIGNING_KEY SIGNING_CERT USER PASSWORD ISSUER SERVICE LOG

GET /token?service=S&scope=repository:NAME:ACTIONS...
  with Basic USER:PASSWORD -> a token granting the asked actions
  without credentials      -> a token granting nothing (private repositories answer 401)
  with wrong credentials   -> 401
Each request is logged to LOG as one JSON line (user, scopes), for the test to count.

Environment, for the registries that behave less well:
  TOKEN_TTL=SECONDS   tokens expire after SECONDS though the answer still says expires_in 300 (short
                      tokens during a long push; regclient keeps a renewal buffer for this)
  READ_ONLY=1         only pull is granted, whatever is asked (a user without push rights: the
                      registry then answers 401 insufficient_scope)
  REDIRECT=1          a token request without `redirected=1` is answered 307 to the same URL with it
                      (a token service behind a load balancer or CDN)
  FIRST_SCOPE_ONLY=1  only the first scope of a request is granted (token services that ignore the
                      rest: cesanta/docker_auth #67; a cross-repository mount then gets 401)
"""
import base64
import json
import os
import sys
import time
from urllib.parse import urlparse, parse_qs

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from loopback import JSONHandler, serve

(PORT, TLS_CERT, TLS_KEY, SIGNING_KEY, SIGNING_CERT, USER, PASSWORD, ISSUER, SERVICE, LOG) = sys.argv[1:11]
with open(SIGNING_KEY, "rb") as f:
    KEY = serialization.load_pem_private_key(f.read(), password=None)
with open(SIGNING_CERT, "rb") as f:
    CERT_DER = x509.load_pem_x509_certificate(f.read()).public_bytes(serialization.Encoding.DER)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(user, access):
    header = {"typ": "JWT", "alg": "ES256", "x5c": [base64.b64encode(CERT_DER).decode()]}
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": user, "aud": SERVICE, "exp": now + int(os.environ.get("TOKEN_TTL", "300")), "nbf": now - 10, "iat": now,
              "jti": b64url(os.urandom(12)), "access": access}
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    r, s = decode_dss_signature(KEY.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return signing_input + "." + b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


class Handler(JSONHandler):
    def do_GET(self):
        url = urlparse(self.path)
        query = parse_qs(url.query)
        if os.environ.get("REDIRECT") and "redirected" not in query:
            return self.answer(307, b"", headers={"Location": self.path + "&redirected=1"})
        user = ""
        header = self.headers.get("Authorization", "")
        if header.startswith("Basic "):
            given = base64.b64decode(header[6:]).decode(errors="replace")
            if given != "%s:%s" % (USER, PASSWORD):
                return self.answer(401, {"details": "incorrect username or password"})
            user = USER
        scopes = [s for scope in query.get("scope", []) for s in scope.split(" ")]
        access = []
        for scope in scopes[:1] if os.environ.get("FIRST_SCOPE_ONLY") else scopes:
            parts = scope.split(":")
            if len(parts) == 3 and parts[0] in ("repository", "registry") and user:
                actions = parts[2].split(",")
                if os.environ.get("READ_ONLY"):
                    actions = [a for a in actions if a == "pull"]
                access.append({"type": parts[0], "name": parts[1], "actions": actions})
        with open(LOG, "a") as log:
            log.write(json.dumps({"user": user, "scopes": scopes, "service": query.get("service", [""])[0]}) + "\n")
        jwt = token(user, access)
        self.answer(200, {"token": jwt, "access_token": jwt, "expires_in": 300})


serve(Handler, PORT, TLS_CERT, TLS_KEY)
