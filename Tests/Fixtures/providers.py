#!/usr/bin/env python3
"""A stand-in for the four LLM providers airlock preflight speaks to (no real provider is reachable
from the test machine). Each answers its provider's documented request shape over HTTPS and checks
the credential in the header that provider uses, so a test proves the right header arrived.

usage: providers.py PORT CERT KEY API_KEY

  /openai/v1/models                      GET,  Authorization: Bearer KEY  -> {"data": [{"id": ...}]}
  /anthropic/v1/models/{model}           GET,  x-api-key: KEY, anthropic-version -> model or 404
  /azure-claude/anthropic/v1/messages    POST, x-api-key: KEY, anthropic-version, max_tokens -> message or 404
  /azure-openai/openai/deployments/{d}/chat/completions?api-version=V
                                         POST, api-key: KEY -> completion or 404 DeploymentNotFound
  /hang/...                              never answers (timeouts)
"""
import json
import re
import sys
import time
from urllib.parse import urlparse, parse_qs

from loopback import JSONHandler, serve

PORT, CERT, KEY, API_KEY = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
MODELS = ["gpt-4o", "gpt-4o-mini", "claude-sonnet-4-5"]
DEPLOYMENTS = ["gpt-4o-prod"]


class Handler(JSONHandler):
    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    def anthropic_ok(self):
        if self.headers.get("x-api-key") != API_KEY:
            self.answer(401, {"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}})
            return False
        if not self.headers.get("anthropic-version"):
            self.answer(400, {"type": "error", "error": {"type": "invalid_request_error", "message": "anthropic-version header is required"}})
            return False
        return True

    def do_GET(self):
        path = urlparse(self.path).path
        if path.startswith("/hang/"):
            time.sleep(3600)
        if path == "/openai/v1/models":
            if self.headers.get("Authorization") != "Bearer " + API_KEY:
                return self.answer(401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error", "code": "invalid_api_key"}})
            return self.answer(200, {"object": "list", "data": [{"id": m, "object": "model"} for m in MODELS]})
        match = re.fullmatch(r"/anthropic/v1/models/([^/]+)", path)
        if match:
            if not self.anthropic_ok():
                return
            if match.group(1) not in MODELS:
                return self.answer(404, {"type": "error", "error": {"type": "not_found_error", "message": "model: " + match.group(1)}})
            return self.answer(200, {"type": "model", "id": match.group(1), "display_name": match.group(1)})
        self.answer(404, {"error": {"message": "no route " + path}})

    def do_POST(self):
        url = urlparse(self.path)
        if url.path.startswith("/hang/"):
            time.sleep(3600)
        if url.path == "/azure-claude/anthropic/v1/messages":
            if not self.anthropic_ok():
                return
            request = self.body()
            if request.get("max_tokens") != 1:
                return self.answer(400, {"type": "error", "error": {"type": "invalid_request_error", "message": "preflight should ask for 1 token"}})
            if request.get("model") not in MODELS:
                return self.answer(404, {"type": "error", "error": {"type": "not_found_error", "message": "model: %s" % request.get("model")}})
            return self.answer(200, {"type": "message", "role": "assistant", "content": [{"type": "text", "text": "p"}],
                                     "stop_reason": "max_tokens", "usage": {"input_tokens": 8, "output_tokens": 1}})
        match = re.fullmatch(r"/azure-openai/openai/deployments/([^/]+)/chat/completions", url.path)
        if match:
            if self.headers.get("api-key") != API_KEY:
                return self.answer(401, {"error": {"code": "401", "message": "Access denied due to invalid subscription key or wrong API endpoint."}})
            if not parse_qs(url.query).get("api-version"):
                return self.answer(404, {"error": {"code": "404", "message": "Resource not found"}})
            self.body()
            if match.group(1) not in DEPLOYMENTS:
                return self.answer(404, {"error": {"code": "DeploymentNotFound", "message": "The API deployment for this resource does not exist."}})
            return self.answer(200, {"object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": "p"}}]})
        self.answer(404, {"error": {"message": "no route " + url.path}})


serve(Handler, PORT, CERT, KEY)
