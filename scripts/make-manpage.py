#!/usr/bin/env python3
"""Writes airlock's man page (troff, section 1) from its own command tree, as the binary reports it
with --experimental-dump-help, so the page says what the binary does.

usage: make-manpage.py AIRLOCK VERSION SOURCE_DATE_EPOCH > airlock.1
"""
import json
import subprocess
import sys
import time

airlock, version, epoch = sys.argv[1], sys.argv[2], int(sys.argv[3])
tree = json.loads(subprocess.run([airlock, "--experimental-dump-help"], check=True, capture_output=True).stdout)["command"]


def esc(text):
    return (text or "").replace("\\", "\\\\").replace("-", "\\-").replace("\n.", "\n\\&.").replace("\n'", "\n\\&'")


def flag(argument):
    names = argument.get("names") or []
    spelled = ", ".join(("--" if n["kind"] == "long" else "-") + n["name"] for n in names)
    if argument["kind"] == "positional":
        return "\\fI%s\\fR" % esc(argument.get("valueName", "ARG"))
    if argument["kind"] == "option":
        spelled += " \\fI%s\\fR" % esc(argument.get("valueName", "VALUE"))
    return "\\fB%s\\fR" % esc(spelled)


def section(command, path):
    out = []
    name = " ".join(path)
    out.append(".SH %s" % esc(name.upper()) if len(path) == 2 else ".SS %s" % esc(name))
    if command.get("abstract"):
        out.append(esc(command["abstract"]))
    if command.get("discussion"):
        out.append(".PP")
        out.append(esc(command["discussion"]))
    for argument in command.get("arguments") or []:
        if not argument.get("shouldDisplay", True) or any(n.get("name") in ("help", "version") for n in argument.get("names") or []):
            continue
        out.append(".TP")
        out.append(flag(argument))
        text = argument.get("abstract", "")
        if argument.get("defaultValue"):
            text += " (default: %s)" % argument["defaultValue"]
        out.append(esc(text))
    for sub in command.get("subcommands") or []:
        if sub["commandName"] != "help" and sub.get("shouldDisplay", True):
            out += section(sub, path + [sub["commandName"]])
    return out


date = time.strftime("%Y-%m-%d", time.gmtime(epoch))
lines = ['.TH AIRLOCK 1 "%s" "airlock %s" "User Commands"' % (date, version), ".SH NAME",
         "airlock \\- %s" % esc(tree.get("abstract", "")), ".SH SYNOPSIS", "\\fBairlock\\fR \\fICOMMAND\\fR [\\fIOPTIONS\\fR]",
         ".SH DESCRIPTION", esc(tree.get("discussion", ""))]
for sub in tree.get("subcommands") or []:
    if sub["commandName"] != "help":
        lines += section(sub, ["airlock", sub["commandName"]])
print("\n".join(lines))
