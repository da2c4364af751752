#!/usr/bin/env bash
# Verifies an airlock bundle with stock tools only: openssl, tar, zstd, sha256sum, and python3 for
# the JSON and DSSE's pre-authentication encoding. usage: audit-verify.sh BUNDLE.tar.zst SIGNER.pub
# (or CA.pem instead of SIGNER.pub, for a bundle signed with a certified key: pack --cert)
set -euo pipefail
BUNDLE=$1 PUB=$2
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
# A split bundle (BUNDLE.part001, BUNDLE.part002, ...) is its parts, concatenated in order.
bundle_bytes() { if [ -e "$BUNDLE" ]; then cat "$BUNDLE"; else cat "$BUNDLE".part[0-9][0-9][0-9]; fi; }

# 1. The signed statement is the bundle's first entry.
bundle_bytes | tar --zstd -xf - -C "$WORK" statement.intoto.json

# 2. Rebuild the DSSE pre-authentication encoding, split out the signatures, list the subjects.
python3 - "$WORK" <<'PY'
import base64, json, sys
work = sys.argv[1]
envelope = json.load(open(work + "/statement.intoto.json"))
payload = base64.b64decode(envelope["payload"])
kind = envelope["payloadType"].encode()
open(work + "/pae.bin", "wb").write(b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload))
for i, signature in enumerate(envelope["signatures"]):
    open("%s/sig%d.der" % (work, i), "wb").write(base64.b64decode(signature["sig"]))
    if signature.get("cert"):
        open("%s/sig%d.chain.pem" % (work, i), "w").write(signature["cert"])
statement = json.loads(payload)
assert statement["_type"] == "https://in-toto.io/Statement/v1"
assert statement["predicateType"] == "https://airlock.dev/bundle/v1"
with open(work + "/SHA256SUMS", "w") as sums:
    for subject in statement["subject"]:
        sums.write("%s  %s\n" % (subject["digest"]["sha256"], subject["name"]))
PY

# 3. One signature must verify with the trusted key (ECDSA P-256 over SHA-256, or Ed25519 over
#    the encoding itself, which openssl pkeyutl -rawin checks). Given a
#    CA certificate instead, with the key of the certificate a signature carries, if that chains
#    to the CA now and is for code signing (as airlock verify --signer-root checks it).
verified=no
for sig in "$WORK"/sig*.der; do
  [ -e "$sig" ] || break
  key=$PUB
  if grep -q "BEGIN CERTIFICATE" "$PUB"; then
    chain=${sig%.der}.chain.pem
    [ -e "$chain" ] || continue
    openssl x509 -in "$chain" -out "$WORK/leaf.pem"
    openssl verify -partial_chain -CAfile "$PUB" -untrusted "$chain" "$WORK/leaf.pem" >/dev/null 2>&1 || continue
    openssl x509 -in "$WORK/leaf.pem" -noout -ext extendedKeyUsage 2>/dev/null | grep -q "Code Signing" || continue
    openssl x509 -in "$WORK/leaf.pem" -noout -pubkey > "$WORK/leaf.pub"
    key=$WORK/leaf.pub
  fi
  if openssl pkey -pubin -in "$key" -noout -text 2>/dev/null | head -1 | grep -q ED25519; then
    openssl pkeyutl -verify -pubin -inkey "$key" -rawin -in "$WORK/pae.bin" -sigfile "$sig" >/dev/null 2>&1 && verified=yes
  elif openssl dgst -sha256 -verify "$key" -signature "$sig" "$WORK/pae.bin" >/dev/null 2>&1; then verified=yes; fi
done
[ "$verified" = yes ] || { echo "FAILED: no signature verifies with $PUB" >&2; exit 1; }

# 4. Unpack everything and check each entry against its signed digest.
mkdir "$WORK/x"
bundle_bytes | zstd -dc | tar -x -C "$WORK/x"
(cd "$WORK/x" && sha256sum --check --strict --quiet "$WORK/SHA256SUMS") || { echo "FAILED: an entry does not match its signed digest" >&2; exit 1; }

# 5. Nothing unlisted: the bundle holds exactly the signed entries.
(cd "$WORK/x" && find . -type f ! -path ./statement.intoto.json | sed 's|^\./||' | LC_ALL=C sort) > "$WORK/found"
cut -c67- "$WORK/SHA256SUMS" | LC_ALL=C sort > "$WORK/listed"
diff "$WORK/listed" "$WORK/found" >/dev/null || { echo "FAILED: entries differ from the signed list" >&2; exit 1; }
echo "OK: signature verified with $PUB; $(wc -l < "$WORK/listed") entries match their signed sha256 digests"
