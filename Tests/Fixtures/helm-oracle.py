#!/usr/bin/env python3
"""Real Helm v4 (through the PyPI package helm-python-sdk, no helm binary) as the oracle for
airlock's chart rendering.

  helm-oracle.py compare CHART AIRLOCK.json [VALUES.yaml]
  helm-oracle.py images CHART VALUES.yaml NAMESPACE

renders CHART with Helm twice (to learn which leaves change from one render to the next: random
strings, generated certificates, the clock, and checksums over them) and compares, template by
template, the documents Helm rendered with those airlock rendered (AIRLOCK.json, from
`airlock chart render --output json`). Documents are compared parsed (YAML equal), with only the
leaves that differ between Helm's own two renders masked. It also collects the images of both
renders the way the fixtures' README does (string values of keys named image/imageName or ending
in Image, Docker-normalised) and prints one JSON report.
"""
import json
import sys

import yaml
from helm_python import chart


def render(path, values, namespace="default"):
    with chart.Chart.load(path) as loaded:
        return loaded.render(name="release", namespace=namespace, values=values)


def documents(text):
    return [doc for doc in yaml.safe_load_all(text) if doc is not None]


def leaves(node, prefix, out):
    if isinstance(node, dict):
        for key, value in node.items():
            leaves(value, prefix + (str(key),), out)
        if not node:
            out[prefix] = {}
    elif isinstance(node, list):
        for index, value in enumerate(node):
            leaves(value, prefix + (index,), out)
        if not node:
            out[prefix] = []
    else:
        out[prefix] = node
    return out


def flatten(rendered):
    """{(template, doc index, path...): leaf} for every YAML template (NOTES.txt left out)."""
    out = {}
    for name, text in rendered.items():
        if name.endswith("NOTES.txt"):
            continue
        for index, doc in enumerate(documents(text)):
            leaves(doc, (name, index), out)
    return out


def normalise(ref):
    ref = ref.strip()
    if not ref or " " in ref:
        return None
    name, digest = ref, ""
    if "@" in name:
        name, digest = name.split("@", 1)
        digest = "@" + digest
    tag = ""
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = name.rsplit(":", 1)
        tag = ":" + tag
    parts = name.split("/")
    if len(parts) == 1 or not ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = ["docker.io"] + parts
    if parts[0] in ("docker.io", "index.docker.io"):
        # Docker's ParseNormalizedNamed: docker.io/traefik is docker.io/library/traefik.
        parts[0] = "docker.io"
        if len(parts) == 2:
            parts = ["docker.io", "library", parts[1]]
    if not tag and not digest:
        tag = ":latest"
    return "/".join(parts) + tag + digest


def images(node, out):
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, str) and (key.lower() == "imagename" or key.lower().endswith("image")):
                ref = normalise(value)
                if ref:
                    out.add(ref)
            images(value, out)
    elif isinstance(node, list):
        for value in node:
            images(value, out)
    return out


def image_set(rendered):
    found = set()
    for name, text in rendered.items():
        if not name.endswith("NOTES.txt"):
            for doc in documents(text):
                images(doc, found)
    return found


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "images":
        # The images Helm renders with a values file (airlock values' output) in a namespace.
        with open(sys.argv[3]) as handle:
            values = yaml.safe_load(handle) or {}
        print(json.dumps(sorted(image_set(render(sys.argv[2], values, sys.argv[4])))))
        return
    if len(sys.argv) < 4 or sys.argv[1] != "compare":
        sys.exit(__doc__)
    path, airlock_file = sys.argv[2], sys.argv[3]
    values = {}
    if len(sys.argv) > 4:
        with open(sys.argv[4]) as handle:
            values = yaml.safe_load(handle) or {}
    first = render(path, values)
    second = render(path, values)
    with open(airlock_file) as handle:
        ours = json.load(handle)
    helm_leaves, helm_again, our_leaves = flatten(first), flatten(second), flatten(ours)
    unstable = {key for key in helm_leaves if helm_again.get(key) != helm_leaves[key]}
    differences = []
    for key in sorted(set(helm_leaves) | set(our_leaves), key=repr):
        if key in unstable:
            continue
        if helm_leaves.get(key, "<absent>") != our_leaves.get(key, "<absent>"):
            differences.append({"at": [str(part) for part in key], "helm": repr(helm_leaves.get(key, "<absent>"))[:300],
                                "airlock": repr(our_leaves.get(key, "<absent>"))[:300]})
    missing_templates = sorted(set(first) - set(ours))
    extra_templates = sorted(set(ours) - set(first))
    helm_images, our_images = image_set(first), image_set(ours)
    print(json.dumps({
        "templates": len(first),
        "masked": len(unstable),
        "differences": differences[:50],
        "differenceCount": len(differences),
        "missingTemplates": missing_templates,
        "extraTemplates": extra_templates,
        "helmImages": sorted(helm_images),
        "airlockImages": sorted(our_images),
    }, indent=1))


if __name__ == "__main__":
    main()
