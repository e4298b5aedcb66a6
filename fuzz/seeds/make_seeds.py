#!/usr/bin/env python3
"""Writes the committed seed corpora under fuzz/seeds/<target>/ from the project's own test inputs.

validate_bytes: every request fixture (tests/fixtures/requests/*.json) wrapped, as raw text so that duplicated keys
survive, in a validation payload with each settings object expected.json pairs it with.
reference_parser: the references of the parser's test tables, plus their look-alike corruptions.
settings: every settings object of expected.json and of examples/, plus wrong-typed ones.
Run from anywhere: python3 fuzz/seeds/make_seeds.py
"""
import hashlib
import json
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
SEEDS = ROOT / "fuzz" / "seeds"


def write(target, content):
    directory = SEEDS / target
    directory.mkdir(parents=True, exist_ok=True)
    data = content.encode() if isinstance(content, str) else content
    (directory / hashlib.sha1(data).hexdigest()).write_bytes(data)


requests = ROOT / "tests" / "fixtures" / "requests"
expected = json.loads((requests / "expected.json").read_text())
settings_seen = set()
for case in expected["cases"]:
    settings = json.dumps(case.get("settings") or {})
    settings_seen.add(settings)
    raw_request = (requests / case["request"]).read_text()
    write("validate_bytes", '{"settings":%s,"request":%s}' % (settings, raw_request))
for settings in sorted(settings_seen):
    write("settings", settings)
for extra in ['null', '{"requireTag":"yes"}', '{"allowedAlgorithms":[]}', '{"exemptImages":[" x"]}',
              '{"exemptImages":"x"}', '{"unknown":1}', '[]', '{"allowedAlgorithms":["md5"]}']:
    write("settings", extra)

HEX = "0123456789abcdef" * 8
references = {
    "nginx", "nginx:1.27", "nginx:1.27@sha256:" + HEX[:64], "nginx@sha256:" + HEX[:64],
    "nginx@sha384:" + HEX[:96], "nginx@sha512:" + HEX, "registry.example.com:5000/team/app:2.1@sha256:" + HEX[:64],
    "[::1]:5000/app:1@sha256:" + HEX[:64], "[2001:db8::1]/app", "localhost/app", "127.0.0.1:5000/app",
    "nginx@sha256:" + HEX[:64] + "@sha256:" + HEX[:64], "nginx@md5:" + HEX[:32], "nginx@SHA256:" + HEX[:64],
    "nginx@sha256:" + HEX[:64].upper(), "nginx@sha256:" + "\uff10" * 64, "nginx@sha256:" + HEX[:63] + "\u0430",
    " nginx@sha256:" + HEX[:64], "nginx@sha256:" + HEX[:64] + ":1.27", "[::ffff:1.2.3.4]/app",
    # What distribution/reference v0.6.0 pins and the policy once refused: a path of 255 after a registry (the limit
    # is on the path), a dotted first component that is no host but a path component, a bracketed host of hex and
    # colons that is no IPv6 address; and each just past its boundary.
    "localhost:5000/team/" + "p" * 250 + "@sha256:" + HEX[:64], "localhost:5000/team/" + "p" * 251,
    "n" * 247 + "@sha256:" + HEX[:64], "n" * 248, "do_ker.io/library/nginx:1.27@sha256:" + HEX[:64],
    "r_egistry.k8s.io/pause:3.10@sha256:" + HEX[:64], "do_ker.io:5000/nginx", "do_.io/nginx",
    "[:1]:5000/x:y@sha256:" + HEX[:64], "[1::2::3]:443/app", "[ab]/app", "[AB]/app",
}
table = (ROOT / "policy" / "tests" / "reference.rs").read_text()
references.update(re.findall(r'#\[case::\w+\("((?:[^"\\]|\\.)*)"', table))
for reference in references:
    write("reference_parser", reference)
