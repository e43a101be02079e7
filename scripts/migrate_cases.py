#!/usr/bin/env python3
"""Rewrite `check` cases from the old VPC Lattice client dialect to the one `Request` dialect.

Issue 12 merged the two ways a `Request` case said who signs: the Lattice client's
`"SignAs": "Role"` is now written as API Gateway's `"Sign": {"As": "Role"}` (everything else of
the old client dialect — `From`, `Url` with `${LogicalId.Attribute}`, `Headers` as strings,
`Body` as a string, `WaitSeconds`, `TimeoutSeconds` — is part of the one dialect as it was).

The rewrite is textual, so a file keeps its layout, comments and key order, and idempotent: a
migrated file has no `SignAs` left and runs through unchanged. It handles JSON (`"SignAs": "X"`),
YAML (`SignAs: X`, `SignAs: "X"`) and the same spellings inside Rust string literals and
Markdown, with escaped quotes (`\\"SignAs\\": \\"X\\"`) too.

Usage: scripts/migrate_cases.py [PATH ...]   (default: scenarios tests docs README.md examples)
        --check   report files that still need a rewrite, change nothing (exit 1 if any)
"""

import os
import re
import sys

SUFFIXES = (".json", ".yaml", ".yml", ".rs", ".md", ".py")
DEFAULT_PATHS = ["scenarios", "tests", "docs", "README.md", "examples"]

# "SignAs": "X"  (JSON) — with optional backslash-escaped quotes (inside Rust/Python strings).
JSON_FORM = re.compile(
    r'(?P<q>\\?")SignAs(?P=q)(?P<sep>\s*:\s*)(?P=q)(?P<value>(?:[^"\\]|\\[^"])*?)(?P=q)'
)
# SignAs: X  /  SignAs: "X"  /  SignAs: 'X'  (YAML block or flow style).
YAML_FORM = re.compile(
    r"(?P<lead>^|[\s{,])SignAs(?P<sep>\s*:\s+)(?P<value>\"[^\"\n]*\"|'[^'\n]*'|[^\s,}\n#]+)",
    re.MULTILINE,
)


def migrate_text(text: str) -> str:
    def json_sub(m: "re.Match[str]") -> str:
        q = m.group("q")
        return f'{q}Sign{q}{m.group("sep")}{{{q}As{q}: {q}{m.group("value")}{q}}}'

    def yaml_sub(m: "re.Match[str]") -> str:
        return f'{m.group("lead")}Sign{m.group("sep")}{{As: {m.group("value")}}}'

    text = JSON_FORM.sub(json_sub, text)
    return YAML_FORM.sub(yaml_sub, text)


def files(paths):
    for p in paths:
        if os.path.isdir(p):
            for root, dirs, names in os.walk(p):
                dirs[:] = [d for d in dirs if d not in ("target", ".git", "node_modules")]
                for n in sorted(names):
                    if n.endswith(SUFFIXES):
                        yield os.path.join(root, n)
        elif os.path.isfile(p):
            yield p


def main(argv):
    check = "--check" in argv
    paths = [a for a in argv if a != "--check"] or DEFAULT_PATHS
    changed = []
    for f in files(paths):
        if os.path.abspath(f) == os.path.abspath(__file__):
            continue
        try:
            with open(f, encoding="utf-8") as fh:
                text = fh.read()
        except (UnicodeDecodeError, OSError):
            continue
        if "SignAs" not in text:
            continue
        new = migrate_text(text)
        if new != text:
            changed.append(f)
            if not check:
                with open(f, "w", encoding="utf-8") as fh:
                    fh.write(new)
    verb = "needs" if check else "rewrote"
    for f in changed:
        print(f"{verb}: {f}")
    return 1 if check and changed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
