#!/usr/bin/env bash
# Checks a file against its detached envelope (airlock sign-file, or scripts/release's
# SHA256SUMS.intoto.json) with stock tools only: openssl, sha256sum, and python3 for the JSON and
# DSSE's pre-authentication encoding. usage: verify-file.sh FILE ENVELOPE SIGNER.pub
set -euo pipefail
FILE=$1 ENVELOPE=$2 PUB=$3
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
# The signed statement names the file (its sha256 and size); the signatures are over DSSE's
# pre-authentication encoding of that statement.
python3 - "$ENVELOPE" "$WORK" <<'PY'
import base64, json, sys
envelope, work = json.load(open(sys.argv[1])), sys.argv[2]
payload, kind = base64.b64decode(envelope["payload"]), envelope["payloadType"].encode()
open(work + "/pae.bin", "wb").write(b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload))
for i, signature in enumerate(envelope["signatures"]):
    open("%s/sig%d.der" % (work, i), "wb").write(base64.b64decode(signature["sig"]))
statement = json.loads(payload)
assert statement["_type"] == "https://in-toto.io/Statement/v1"
subject = statement["subject"][0]
open(work + "/expected", "w").write("%s  %s\n" % (subject["digest"]["sha256"], subject["name"]))
PY
verified=""
for signature in "$WORK"/sig*.der; do
  if openssl dgst -sha256 -verify "$PUB" -signature "$signature" "$WORK/pae.bin" >/dev/null 2>&1 ||
     openssl pkeyutl -verify -pubin -inkey "$PUB" -rawin -in "$WORK/pae.bin" -sigfile "$signature" >/dev/null 2>&1; then
    verified=yes
  fi
done
[ -n "$verified" ] || { echo "FAILED: no signature of $ENVELOPE verifies with $PUB" >&2; exit 1; }
expected=$(cut -c1-64 "$WORK/expected")
actual=$(sha256sum "$FILE" | cut -c1-64)
[ "$expected" = "$actual" ] || { echo "FAILED: $FILE hashes to $actual, the envelope signs $expected" >&2; exit 1; }
echo "OK: $FILE is the file $ENVELOPE signs ($(cut -d' ' -f3 "$WORK/expected")), signature verified with $PUB"
