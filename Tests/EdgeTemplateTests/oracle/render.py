#!/usr/bin/env python3
"""Oracle for EdgeTemplate's tests: renders chat templates the way Hugging Face
transformers does (transformers/utils/chat_template_utils.py, `_compile_jinja_template`):
an ImmutableSandboxedEnvironment with trim_blocks and lstrip_blocks, the loopcontrols
extension, `raise_exception` and `strftime_now` globals and a `tojson` filter that is
json.dumps with ensure_ascii=False.

Usage: render.py CASES.json  ->  writes a JSON list of results to stdout.
CASES.json is a list of {"name", "template", "context", "now"}; `now` is a Unix time that
strftime_now formats in local time, so the Swift side can pass the same instant.
Each result is {"name", "output"} or {"name", "error_type", "error"}.
"""
import json
import sys
from datetime import datetime

import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment


def make_env(now):
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return datetime.fromtimestamp(now).strftime(format)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        cases = json.load(f)
    results = []
    for case in cases:
        env = make_env(case.get("now", 0))
        try:
            out = env.from_string(case["template"]).render(**case["context"])
            results.append({"name": case["name"], "output": out})
        except Exception as e:  # the test compares the kind of failure, not Python's wording
            results.append({"name": case["name"], "error_type": type(e).__name__, "error": str(e)})
    json.dump(results, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
