#!/usr/bin/env python3
"""Makes hostile variants of a good airlock bundle, for the tests: decompresses it with the zstd
CLI, alters the tar with Python's tarfile, and compresses it again (one frame, no seek index, so
the damage itself must be what a reader reports).

usage: hostile.py CASE GOOD.tar.zst OUT.tar.zst [ARG] [--key SIGNER.key]
cases: flip ENTRY | extra | missing ENTRY | duplicate ENTRY | path NAME | symlink | hardlink | device |
       oversize ENTRY | version (needs --key)
"""
import base64
import io
import json
import subprocess
import sys
import tarfile

STATEMENT = "statement.intoto.json"


def read_members(path):
    raw = subprocess.run(["zstd", "-dc", path], check=True, capture_output=True).stdout
    members = []
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tar:
        for info in tar.getmembers():
            data = tar.extractfile(info).read() if info.isfile() else b""
            members.append((info, data))
    return members


def write_members(members, path):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            info.size = len(data) if info.isfile() else 0
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    subprocess.run(["zstd", "-q", "-3", "-f", "-o", path], input=raw.getvalue(), check=True)


def regular(name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    return info, data


def special(name, kind, target=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    info.devmajor, info.devminor = 1, 3
    return info, b""


def find(members, name):
    for index, (info, _) in enumerate(members):
        if info.name == name:
            return index
    raise SystemExit("no entry %s" % name)


def resign(data, key):
    envelope = json.loads(data)
    statement = json.loads(base64.b64decode(envelope["payload"]))
    statement["predicate"]["formatVersion"] = 2
    payload = json.dumps(statement, sort_keys=True, separators=(",", ":")).encode()
    kind = envelope["payloadType"].encode()
    pae = b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)
    signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=pae, check=True, capture_output=True).stdout
    envelope["payload"] = base64.b64encode(payload).decode()
    envelope["signatures"] = [{"keyid": envelope["signatures"][0]["keyid"], "sig": base64.b64encode(signature).decode()}]
    return json.dumps(envelope).encode()


def main():
    args = sys.argv[1:]
    key = None
    if "--key" in args:
        at = args.index("--key")
        key = args[at + 1]
        del args[at:at + 2]
    case, good, out = args[:3]
    arg = args[3] if len(args) > 3 else None
    members = read_members(good)
    if case == "flip":
        index = find(members, arg)
        info, data = members[index]
        data = bytearray(data)
        data[len(data) // 2] ^= 0x01
        members[index] = (info, bytes(data))
    elif case == "extra":
        members.append(regular("files/extra.txt", b"not in the statement\n"))
    elif case == "missing":
        del members[find(members, arg)]
    elif case == "duplicate":
        members.append(members[find(members, arg)])
    elif case == "path":
        members.insert(1, regular(arg, b"escape\n"))
    elif case == "symlink":
        members.insert(1, special("files/link", tarfile.SYMTYPE, "/etc/passwd"))
    elif case == "hardlink":
        members.insert(1, special("files/hard", tarfile.LNKTYPE, STATEMENT))
    elif case == "device":
        members.insert(1, special("files/null", tarfile.CHRTYPE))
    elif case == "oversize":
        index = find(members, arg)
        members[index] = (members[index][0], b"\0" * (64 << 20))
    elif case == "version":
        index = find(members, STATEMENT)
        members[index] = (members[index][0], resign(members[index][1], key))
    else:
        raise SystemExit(__doc__)
    write_members(members, out)


if __name__ == "__main__":
    main()
