#!/usr/bin/env python3
"""Generates example content for airlock, offline and reproducibly: an OCI image layout (a
single-platform image and a two-platform index sharing a base layer), a Helm chart directory,
a ModelEndpoint with a CA file, a plain file, and the airlock.yaml that packs them.

With --docker-archive it also writes worker.tar, a `docker save`-style archive made by skopeo.
With --install the chart also runs the multi image as a sidecar and carries the vendor's install-values
template (install/platform.values.tmpl.yaml, every site fact used), and an Egress document
(egress/platform.yaml) rides along: what `airlock values` and `airlock preflight` read at the site.
With --layer-mb N the app image gets two extra layers (N and 3N/4 MiB) of mixed compressible and random data.
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tarfile

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"


# The vendor's template of the site's values: every fact airlock values offers.
INSTALL_TEMPLATE = """# platform: the values a site installs with, filled in by `airlock values`.
{{- $app := index .Registry.Images "registry.example.com/team/app:1.4.2" }}
{{- $multi := index .Registry.Images "registry.example.com/team/multi:1.4.2" }}
image:
  repository: {{ $app.Name | quote }}
  tag: {{ $app.Tag | quote }}
  digest: {{ $app.Digest | quote }}
sidecar:
  image: {{ $multi.Ref | quote }}
registry:
  address: {{ .Registry.Address | quote }}
  chart: {{ (index .Registry.Charts "platform").OCI | quote }}
namespace: {{ .Namespace }}
bundle: {{ printf "%s-%s" .Bundle.Name .Bundle.Version | quote }}
proxy:
  enabled: {{ .Proxy.Enabled }}
  httpProxy: {{ .Proxy.HTTPProxy | quote }}
  httpsProxy: {{ .Proxy.HTTPSProxy | quote }}
  noProxy: {{ .Proxy.NoProxy | quote }}
trust:
  enabled: {{ .CA.Enabled }}
  configMap: {{ .CA.ConfigMap }}
  key: {{ .CA.Key }}
  files: [{{ range $i, $f := .CA.Files }}{{ if $i }}, {{ end }}{{ $f.Name | quote }}{{ end }}]
llm:
{{- range $name, $endpoint := .Endpoints }}
  {{ $name }}:
    provider: {{ $endpoint.Provider }}
    baseURL: {{ $endpoint.BaseURL | quote }}
    model: {{ $endpoint.Model | quote }}
    deployment: {{ $endpoint.Deployment | quote }}
    apiVersion: {{ $endpoint.APIVersion | quote }}
    timeoutSeconds: {{ $endpoint.TimeoutSeconds }}
    auth:
      type: {{ $endpoint.Auth.Type }}
      header: {{ $endpoint.Auth.Header | quote }}
      secretRef: {name: {{ $endpoint.Auth.Secret.Name }}, key: {{ $endpoint.Auth.Secret.Key }}}
    headers:
    {{- range $endpoint.Headers }}
      - name: {{ .Name }}
        {{- if .Secret }}
        secretRef: {name: {{ .Secret.Name }}, key: {{ .Secret.Key }}}
        {{- else }}
        value: {{ .Value | quote }}
        {{- end }}
    {{- end }}
    proxy: {httpsProxy: {{ $endpoint.Proxy.HTTPSProxy | quote }}, noProxy: {{ $endpoint.Proxy.NoProxy | quote }}}
{{- end }}
"""

# The network paths the platform needs (its license server, through the proxy) and those it
# must not have.
EGRESS = """apiVersion: airlock/v1
kind: Egress
metadata:
  name: platform
spec:
  reach:
    - name: license
      url: https://license.vendor.example/v1/health
      via: proxy
  block:
    - name: telemetry
      url: https://telemetry.vendor.example/v1/events
    - name: docker-hub
      host: registry-1.docker.io:443
"""


class Layout:
    def __init__(self, root):
        self.root = root
        os.makedirs(os.path.join(root, "blobs", "sha256"), exist_ok=True)
        with open(os.path.join(root, "oci-layout"), "w") as f:
            f.write('{"imageLayoutVersion":"1.0.0"}')
        self.tags = []

    def blob(self, data, media_type, **extra):
        digest = hashlib.sha256(data).hexdigest()
        with open(os.path.join(self.root, "blobs", "sha256", digest), "wb") as f:
            f.write(data)
        descriptor = {"mediaType": media_type, "digest": "sha256:" + digest, "size": len(data)}
        descriptor.update(extra)
        return descriptor

    def json_blob(self, value, media_type, **extra):
        return self.blob(json.dumps(value, sort_keys=True, separators=(",", ":")).encode(), media_type, **extra)

    def tag(self, descriptor, name):
        tagged = dict(descriptor)
        tagged["annotations"] = {"org.opencontainers.image.ref.name": name}
        self.tags.append(tagged)

    def finish(self):
        index = {"schemaVersion": 2, "mediaType": INDEX, "manifests": self.tags}
        with open(os.path.join(self.root, "index.json"), "w") as f:
            json.dump(index, f, sort_keys=True, separators=(",", ":"))


def tar_layer(files):
    """A reproducible gzip'd tar of {path: bytes}; returns (compressed, diff_id)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(files):
            info = tarfile.TarInfo(path)
            info.size = len(files[path])
            info.mtime = 0
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(files[path]))
    plain = raw.getvalue()
    compressed = gzip.compress(plain, compresslevel=6, mtime=0)
    return compressed, "sha256:" + hashlib.sha256(plain).hexdigest()


def image(layout, layers, arch, label):
    """Writes layers ((data, diff_id) or (data, diff_id, media_type); gzip unless said), config and
    manifest; returns the manifest descriptor."""
    descriptors = [layout.blob(layer[0], layer[2] if len(layer) > 2 else LAYER_GZIP) for layer in layers]
    config = {
        "architecture": arch,
        "os": "linux",
        "config": {"Cmd": ["/bin/app"], "Labels": {"example": label}},
        "rootfs": {"type": "layers", "diff_ids": [layer[1] for layer in layers]},
    }
    config_descriptor = layout.json_blob(config, CONFIG)
    manifest = {"schemaVersion": 2, "mediaType": MANIFEST, "config": config_descriptor, "layers": descriptors}
    return layout.json_blob(manifest, MANIFEST)


def mixed_data(size_mb, seed):
    rng = random.Random(seed)
    chunks = []
    text = b"".join(b"line %d of a compressible log file\n" % i for i in range(30000))
    for i in range(size_mb):
        chunks.append(rng.randbytes(1 << 20) if i % 2 else (text * 2)[: 1 << 20])
    return b"".join(chunks)


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out")
    parser.add_argument("--docker-archive", action="store_true")
    parser.add_argument("--layer-mb", type=int, default=0)
    parser.add_argument("--install", action="store_true")
    parser.add_argument("--attestations", action="store_true",
                        help="attach buildx-style attestation manifests (in-toto SBOM) to each platform of the multi index")
    args = parser.parse_args()
    out = os.path.abspath(args.out)
    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(out)

    layout = Layout(os.path.join(out, "build", "oci"))
    base = tar_layer({"etc/os-release": b"NAME=example-base\n", "usr/share/base.txt": b"shared base layer\n" * 200})
    app = tar_layer({"bin/app": b"#!/bin/sh\necho app\n", "usr/share/app/readme.txt": b"the app\n" * 500})
    app_layers = [base, app]
    if args.layer_mb:
        # Two large layers of different sizes, so a transfer is still under way when the first lands.
        app_layers.append(tar_layer({"var/lib/app/data.bin": mixed_data(args.layer_mb, 7)}))
        app_layers.append(tar_layer({"var/lib/app/more.bin": mixed_data(max(1, args.layer_mb * 3 // 4), 8)}))
    layout.tag(image(layout, app_layers, "amd64", "app"), "app-1.4.2")
    children = []
    for arch in ["amd64", "arm64"]:
        worker = tar_layer({"bin/worker": ("#!/bin/sh\necho worker %s\n" % arch).encode()})
        descriptor = image(layout, [base, worker], arch, "worker-" + arch)
        descriptor["platform"] = {"architecture": arch, "os": "linux"}
        children.append(descriptor)
    if args.attestations:
        # As docker buildx leaves them: an OCI manifest per platform, platform unknown/unknown,
        # annotated with the platform manifest it attests.
        for child in list(children):
            statement = json.dumps({"_type": "https://in-toto.io/Statement/v0.1", "predicateType": "https://spdx.dev/Document",
                                    "subject": [{"name": "worker", "digest": {"sha256": child["digest"][7:]}}]}).encode()
            config = layout.blob(b"{}", "application/vnd.oci.image.config.v1+json")
            layer = layout.blob(statement, "application/vnd.in-toto+json",
                                annotations={"in-toto.io/predicate-type": "https://spdx.dev/Document"})
            manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": config, "layers": [layer]}
            descriptor = layout.json_blob(manifest, "application/vnd.oci.image.manifest.v1+json")
            descriptor["platform"] = {"architecture": "unknown", "os": "unknown"}
            descriptor["annotations"] = {"vnd.docker.reference.digest": child["digest"], "vnd.docker.reference.type": "attestation-manifest"}
            children.append(descriptor)
    index = {"schemaVersion": 2, "mediaType": INDEX, "manifests": children}
    layout.tag(layout.json_blob(index, INDEX), "multi-1.4.2")
    layout.finish()

    chart = os.path.join(out, "charts", "platform")
    write(os.path.join(chart, "Chart.yaml"),
          "apiVersion: v2\nname: platform\ndescription: Example platform chart\nversion: 1.4.2\nappVersion: \"1.4.2\"\n")
    write(os.path.join(chart, "values.yaml"),
          "image:\n  repository: registry.example.com/team/app\n  tag: \"1.4.2\"\nreplicaCount: 1\n")
    write(os.path.join(chart, "templates", "deployment.yaml"),
          "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  template:\n    spec:\n"
          "      containers:\n        - name: app\n          image: \"{{ .Values.image.repository }}:{{ .Values.image.tag }}\"\n")
    if args.install:
        write(os.path.join(chart, "values.yaml"),
              "image:\n  repository: registry.example.com/team/app\n  tag: \"1.4.2\"\n  digest: \"\"\nreplicaCount: 1\n"
              "sidecar:\n  image: registry.example.com/team/multi:1.4.2\n")
        write(os.path.join(chart, "templates", "deployment.yaml"),
              "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  template:\n    spec:\n"
              "      containers:\n        - name: app\n"
              "          image: \"{{ .Values.image.repository }}{{ if .Values.image.digest }}@{{ .Values.image.digest }}"
              "{{ else }}:{{ .Values.image.tag }}{{ end }}\"\n"
              "        - name: sidecar\n          image: {{ .Values.sidecar.image | quote }}\n")
        write(os.path.join(out, "install", "platform.values.tmpl.yaml"), INSTALL_TEMPLATE)
        write(os.path.join(out, "egress.yaml"), EGRESS)
    write(os.path.join(chart, ".helmignore"), "# editor files\n*.swp\n.git/\n")
    write(os.path.join(chart, "notes.swp"), "ignored by .helmignore\n")

    ca_dir = os.path.join(out, "endpoints", "ca")
    os.makedirs(ca_dir, exist_ok=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", os.path.join(ca_dir, "corp-root.key"), "-out", os.path.join(ca_dir, "corp-root.pem"),
                    "-days", "3650", "-subj", "/CN=Corp Proxy CA"], check=True, capture_output=True)
    write(os.path.join(out, "endpoints", "triage-llm.yaml"), """apiVersion: airlock/v1
kind: ModelEndpoint
metadata:
  name: triage-llm
spec:
  provider: openai-compatible
  baseURL: https://llm-gateway.corp.internal/v1
  model: gpt-4o
  auth:
    type: bearer
    valueFrom: {env: LLM_TOKEN}
  headers:
    - name: X-Gateway-Tenant
      value: secops
    - name: X-Gateway-Key
      valueFrom: {env: GATEWAY_KEY}
  proxy: {httpsProxy: "http://proxy.corp.internal:3128", noProxy: [".corp.internal"]}
  caFile: ./ca/corp-root.pem
""")
    write(os.path.join(out, "docs", "INSTALL.md"), "# Installing the platform\n\n1. airlock verify\n2. airlock push\n")

    images = """  - layout: ./build/oci
    select: app-1.4.2
    name: registry.example.com/team/app:1.4.2
  - layout: ./build/oci
    select: multi-1.4.2
    name: registry.example.com/team/multi:1.4.2
"""
    if args.docker_archive:
        archive = os.path.join(out, "build", "worker.tar")
        subprocess.run(["skopeo", "copy", "--quiet", "oci:%s:app-1.4.2" % layout.root,
                        "docker-archive:%s:registry.example.com/team/worker:1.4.2" % archive], check=True)
        images += "  - archive: ./build/worker.tar\n    name: registry.example.com/team/worker:1.4.2\n"
    write(os.path.join(out, "airlock.yaml"), """apiVersion: airlock/v1
kind: Bundle
metadata:
  name: platform
  version: 1.4.2
  created: "2026-11-01T00:00:00Z"
images:
%scharts:
  - path: ./charts/platform
%sendpoints:
  - path: ./endpoints/triage-llm.yaml
%sfiles:
  - path: ./docs/INSTALL.md
""" % (images, "    installValues: ./install/platform.values.tmpl.yaml\n" if args.install else "",
       "egress:\n  - path: ./egress.yaml\n" if args.install else ""))
    print(out)


if __name__ == "__main__":
    sys.exit(main())
