#!/usr/bin/env python3
"""A hostile-input campaign against the edgert CLI (a benchmark-style run, not a test).

Every case runs `edgert` on something a stranger could hand it -- a chat template, a mutated
GGUF file, hostile text, a bad option value, a model file truncated while it runs -- and checks
what a user is promised: the process ends with status 0, or with status 1 and one `error:` line
as the last line of standard error; it is never killed by a signal, never runs past --timeout
seconds and never takes more than --memory-mb of memory (peak RSS).

    scripts/fuzz.py [--edgert .build/release/edgert] [--seed 1] [--cases 200] [--families all]

Families: templates, gguf, text, options, truncate (comma-separated, or all). The cases are
seeded: the same seed gives the same cases. The summary ends with a line
`fuzz: N passed, M failed`; each failure is listed with its command, so that it can be re-run by
hand, and the files it used are kept under --work.
Needs Python 3 and the `gguf` package (pip install gguf) for the template family.
"""

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def find_model(name):
    for d in (os.path.join(ROOT, "..", "shared", "models"), os.path.join(ROOT, "models")):
        p = os.path.normpath(os.path.join(d, name))
        if os.path.exists(p):
            return p
    return None


class Case:
    def __init__(self, family, name, argv, files=(), during=None):
        self.family = family
        self.name = name
        self.argv = argv
        self.files = list(files)
        # Called with the running process (the truncation family changes the file meanwhile).
        self.during = during


class Outcome:
    def __init__(self, case, status, signal_number, seconds, peak_mb, stderr):
        self.case = case
        self.status = status
        self.signal = signal_number
        self.seconds = seconds
        self.peak_mb = peak_mb
        self.stderr = stderr

    def problems(self, timeout, memory_mb):
        found = []
        if self.signal is not None:
            found.append(f"killed by signal {self.signal} ({signal.Signals(self.signal).name})")
        elif self.status not in (0, 1):
            found.append(f"exit status {self.status}")
        if self.seconds > timeout:
            found.append(f"ran {self.seconds:.1f} s (limit {timeout} s)")
        if self.peak_mb > memory_mb:
            found.append(f"peak memory {self.peak_mb:.0f} MB (limit {memory_mb} MB)")
        if self.status == 1 and self.signal is None:
            lines = [l for l in self.stderr.splitlines() if l.strip()]
            errors = [l for l in lines if l.startswith("error: ")]
            if len(errors) != 1:
                found.append(f"{len(errors)} error lines")
            elif lines[-1] != errors[0]:
                found.append("the error line is not the last line")
            elif len(errors[0]) < 16:
                found.append(f"unclear message: {errors[0]!r}")
        return found


def rss_mb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run_case(edgert, case, timeout, memory_mb):
    """Runs one case; the process is killed at twice the time or memory limit."""
    started = time.monotonic()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([edgert] + case.argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        done = threading.Event()

        def watch():
            # Kill a case past twice its time or its memory (read from /proc), so that a runaway
            # case cannot stall the campaign or take the machine's memory.
            while not done.wait(0.05):
                if time.monotonic() - started > 2 * timeout or rss_mb(proc.pid) > 2 * memory_mb:
                    proc.kill()
                    return

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        if case.during:
            case.during(proc)
        _, status, usage = os.wait4(proc.pid, 0)
        done.set()
        watcher.join()
        proc.returncode = 0  # reaped by wait4
        seconds = time.monotonic() - started
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
    return Outcome(case, code, sig, seconds, usage.ru_maxrss / 1024, stderr)


# ---------------------------------------------------------------- templates

HOSTILE_TEMPLATES = [
    "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
    "{% macro m(n) %}{% if n > 0 %}{{ m(n - 1) }}{{ m(n - 1) }}{% endif %}{% endmacro %}{{ m(40) }}",
    "{% if 1 %}" * 100000 + "x" + "{% endif %}" * 100000,
    "{% for i in [1] %}" * 20000 + "{% endfor %}" * 20000,
    "{{ " + "[" * 5000 + "]" * 5000 + " }}",
    "{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}",
    "{{ 'a'" + " ~ 'a'" * 20000 + " }}",
    "{{ " + "not " * 20000 + "1 }}",
    "{{ " + "-" * 20000 + "1 }}",
    "{{ x" + ".y" * 20000 + " }}",
    "{{ 1" + "|string" * 20000 + " }}",
    "{{ 'a' * 1000000000000000000 }}",
    "{{ 'a' * 1000000000 }}",
    "{{ 'x\\ny'|indent(1000000000) }}",
    "{{ (-9223372036854775807 - 1) // -1 }}",
    "{{ (-9223372036854775807 - 1) * -1 }}",
    "{{ -(-9223372036854775807 - 1) }}",
    "{{ (-9223372036854775807 - 1)|abs }}",
    "{{ 9223372036854775807 + 1 }}",
    "{{ 2 ** 100000 }}",
    "{{ 2 ** -1 }}",
    "{{ 10 ** 1000 }}",
    "{{ 1 / 0 }}{{ 1 // 0 }}{{ 1 % 0 }}",
    "{{ 1e308 * 10 }}{{ (1e308 * 10)|int }}",
    "{{ ('9' * 400)|int }}",
    "{% for i in range(1000000000000000000) %}{% endfor %}",
    "{% for i in range(100000000) %}{% for j in range(100000000) %}{% endfor %}{% endfor %}",
    "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
    "{% for i in range(99999) %}{% for j in range(99999) %}{% for k in range(99999) %}{% endfor %}{% endfor %}{% endfor %}",
    "{% set ns = namespace(s='a') %}{% for i in range(100) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}",
    "{% set ns = namespace(l=[1]) %}{% for i in range(100) %}{% set ns.l = ns.l + ns.l %}{% endfor %}{{ ns.l|length }}",
    "{{ '%999999999d' % 1 }}",
    "{{ '{:>999999999}'.format(1) }}",
    "{{ 'a'|center(1000000000) }}",
    "{{ 'a'.ljust(1000000000) }}{{ 'a'.rjust(1000000000) }}",
    "{{ range(100000)|list|tojson(indent=100000) }}",
    "{{ [1] * 1000000000 }}",
    "{{ [1] * 100000 * 100000 }}",
    "{{ (range(100000)|list)|join('x' * 100000) }}",
    "{{ ('a' * 100000).replace('a', 'b' * 100000) }}",
    "{{ 'abc'[9999999999999999999] }}{{ 'abc'[-9223372036854775808] }}",
    "{{ 'abc'[::0] }}",
    "{{ [1, 2][1:9223372036854775807:9223372036854775807] }}",
    "{{ messages * 100000000 }}",
    "{% set x = [] %}{% for i in range(10) %}{% set _ = x.append(x) %}{% endfor %}{{ x|tojson }}",
    "{% set d = {} %}{% set _ = d.update({'a': d}) %}{{ d|tojson }}{{ d }}",
    "{% set x = [] %}{% set _ = x.append(x) %}{{ x }}{{ x|length }}{{ x == x }}",
    "{{ raise_exception('x' * 100000000) }}",
    "{{ lipsum(1000000) }}{{ cycler() }}",
    "{% for %}", "{{", "{% if 1 %}", "{% endfor %}", "{{ 'unterminated }}", "{# never closed", "{% raw %}",
    "{{ x.__class__.__mro__ }}", "{{ ''.__class__ }}", "{{ self }}",
    "{% for m in messages %}{{ m['content'] * 100000000 }}{% endfor %}",
    "{{ 'a'|wordwrap(1) * 100 }}{{ ('a ' * 1000000)|wordwrap(1) }}",
    "{{ range(1000000)|batch(1)|list|length }}",
    "{{ (range(1000000)|list)|slice(1000000)|list|length }}",
    "{{ 'a'|truncate(9223372036854775807) }}{{ 'a'|truncate(-9223372036854775808) }}",
    "{{ range(9223372036854775807)|length }}{{ range(0, 9223372036854775807, 1)|last }}",
    "{{ range(-9223372036854775808, 9223372036854775807) }}",
    "{{ 1 if 1 else " * 5000 + "1" + " }}",
    "{{ {" + "'a': {" * 5000 + "}" * 5001 + " }}",
    "{{ x" + "[0]" * 20000 + " }}",
    "{{ f(" * 5000 + ")" * 5000 + " }}",
]

TEMPLATE_ATOMS = ["1", "-1", "9223372036854775807", "'a'", "'x' * 9", "messages", "messages[0]", "messages[0]['content']",
                  "[1, 2, 3]", "range(5)", "{'k': 'v'}", "none", "true", "add_generation_prompt", "bos_token", "ns", "loop.index"]
TEMPLATE_OPS = [" + ", " - ", " * ", " // ", " % ", " ** ", " ~ ", " == ", " and ", " or ", " in "]
TEMPLATE_FILTERS = ["length", "upper", "trim", "tojson", "list", "string", "int", "first", "last", "reverse", "join(',')",
                    "indent(4)", "center(20)", "replace('a', 'bb')", "default('d')", "items", "sort", "unique", "sum", "abs"]


def random_expression(rng, depth=0):
    if depth > 4 or rng.random() < 0.3:
        e = rng.choice(TEMPLATE_ATOMS)
    elif rng.random() < 0.5:
        e = random_expression(rng, depth + 1) + rng.choice(TEMPLATE_OPS) + random_expression(rng, depth + 1)
    else:
        e = "(" + random_expression(rng, depth + 1) + ")"
    if rng.random() < 0.3:
        e = "(" + e + ")|" + rng.choice(TEMPLATE_FILTERS)
    return e


def random_template(rng, depth=0):
    parts = ["{% set ns = namespace(s='') %}"] if depth == 0 else []
    for _ in range(rng.randint(1, 6)):
        r = rng.random()
        if r < 0.35 or depth > 3:
            parts.append("{{ " + random_expression(rng) + " }}")
        elif r < 0.55:
            parts.append("{% for m in " + rng.choice(["messages", "range(3)", "[1, 2]", "'abc'", "ns.s"]) + " %}"
                         + random_template(rng, depth + 1) + "{% endfor %}")
        elif r < 0.75:
            parts.append("{% if " + random_expression(rng) + " %}" + random_template(rng, depth + 1)
                         + "{% else %}" + random_template(rng, depth + 1) + "{% endif %}")
        elif r < 0.85:
            parts.append("{% set ns.s = ns.s ~ " + random_expression(rng) + " %}")
        else:
            parts.append(rng.choice(["text ", "\n", "  ", "<|im_start|>"]))
    t = "".join(parts)
    if depth == 0 and rng.random() < 0.3:
        # A byte-level mutation: cut, duplicate or drop a slice.
        i, j = sorted(rng.randrange(len(t) + 1) for _ in range(2))
        t = rng.choice([t[:i] + t[j:], t[:j] + t[i:], t[:i]])
    return t


def with_template(source, template, out):
    """Writes `source` with `template` as its tokenizer.chat_template (through the gguf package)."""
    import gguf
    from gguf.scripts.gguf_new_metadata import MetadataDetails, copy_with_new_metadata
    import logging
    logging.disable(logging.CRITICAL)
    reader = gguf.GGUFReader(source, "r")
    arch = reader.fields[gguf.Keys.General.ARCHITECTURE].contents()
    writer = gguf.GGUFWriter(out, arch=arch, endianess=reader.endianess)
    meta = {gguf.Keys.Tokenizer.CHAT_TEMPLATE: MetadataDetails(gguf.GGUFValueType.STRING, template)}
    devnull = open(os.devnull, "w")
    saved = sys.stderr
    sys.stderr = devnull  # the copier's progress bar
    try:
        copy_with_new_metadata(reader, writer, meta, [])
    finally:
        sys.stderr = saved
        devnull.close()


def template_cases(rng, work, model, count):
    cases = []
    templates = [(f"hostile {i}", t) for i, t in enumerate(HOSTILE_TEMPLATES)]
    templates += [(f"random {i}", random_template(rng)) for i in range(max(0, count - len(templates)))]
    for name, t in templates[:max(count, len(HOSTILE_TEMPLATES))]:
        path = os.path.join(work, f"template-{len(cases)}.gguf")
        with_template(model, t, path)
        cases.append(Case("templates", f"{name}: {t[:60]!r}", ["run", "--model", path, "--chat", "-n", "2", "--temp", "0", "-t", "1", "hi"],
                          files=[path]))
    return cases


# ---------------------------------------------------------------- GGUF mutations

def value_spans(model):
    """(offset, bytes) of every number in the file's header: counts, lengths, value types, scalar
    values, tensor dimensions, types and offsets (read with the gguf package's reader)."""
    import gguf
    reader = gguf.GGUFReader(model, "r")
    spans = []
    fields = list(reader.fields.values()) + [t.field for t in reader.tensors]
    for field in fields:
        at = field.offset
        for part in field.parts:
            # uint8 parts are the bytes of names and strings; long parts are array contents.
            if part.dtype.itemsize > 1 and part.nbytes <= 32:
                for k in range(0, part.nbytes, part.dtype.itemsize):
                    spans.append((at + k, part.dtype.itemsize))
            at += part.nbytes
    return spans, reader.data_offset


def gguf_cases(rng, work, model, count):
    data = open(model, "rb").read()
    spans, header_end = value_spans(model)
    commands = [["tokenize", "--json"], ["run", "-n", "2", "--temp", "0", "-t", "1"], ["plan"],
                ["bench", "-p", "8", "-n", "4", "-r", "1", "--no-roofline", "-t", "1"]]
    cases = []
    for i in range(count):
        b = bytearray(data)
        kind = rng.choice(["flip", "int", "int", "int", "truncate", "splice"])
        if kind == "flip":
            for _ in range(rng.randint(1, 16)):
                b[rng.randrange(header_end)] ^= 1 << rng.randrange(8)
        elif kind == "int":
            # A number of the header (a count, a dimension, a hyperparameter, a type) set to an edge value.
            for _ in range(rng.randint(1, 3)):
                at, size = rng.choice(spans)
                value = rng.choice([0, 1, 2, 3, 0xFFFFFFFF, 0x7FFFFFFF, 0xFFFFFFFFFFFFFFFF, 1 << 40, 64, 4096, rng.getrandbits(64)])
                b[at:at + size] = (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
        elif kind == "truncate":
            b = b[:rng.randrange(len(b))]
        else:
            i0, i1 = sorted(rng.randrange(header_end) for _ in range(2))
            b = b[:i0] + b[i1:i1 + (i1 - i0)] + b[i1:]
        path = os.path.join(work, f"mutant-{i}.gguf")
        with open(path, "wb") as f:
            f.write(bytes(b))
        command = rng.choice(commands)
        argv = command[:1] + ["--model", path] + command[1:] + (["--", "Hello world"] if command[0] in ("tokenize", "run") else [])
        cases.append(Case("gguf", f"{kind} #{i} via {command[0]}", argv, files=[path]))
    return cases


# ---------------------------------------------------------------- hostile text

TEXT_PIECES = ["a", "é", "你好", "👩‍👩‍👧‍👦", "\u0301", "\u200d", " ", "\t", "\n", "\r\n", "0123456789", "<|im_start|>",
               "<|endoftext|>", "<s>", "</s>", "<|", "|>", "'s", "\u00a0", "\ufffd", "\U0010ffff", "\x1b[31m", "\x07"]


def hostile_text(rng, limit):
    s = ""
    while len(s.encode()) < limit:
        piece = rng.choice(TEXT_PIECES)
        s += piece * (rng.randint(1, 2000) if rng.random() < 0.2 else 1)
        if rng.random() < 0.05:
            break
    return s.encode()[:limit].decode("utf-8", "ignore")


def text_cases(rng, work, model, count):
    cases = []
    for i in range(count):
        # Arguments are limited to 128 KiB by the kernel; files are not.
        t = hostile_text(rng, rng.choice([16, 1000, 60000]))
        r = rng.random()
        if r < 0.4:
            cases.append(Case("text", f"tokenize #{i} ({len(t)} chars)", ["tokenize", "--model", model, "--json", "--special", "--", t]))
        elif r < 0.8:
            cases.append(Case("text", f"run #{i} ({len(t)} chars)",
                              ["run", "--model", model, "-n", "2", "--temp", "0", "-t", "1", "--ctx", "256", "--", t]))
        else:
            path = os.path.join(work, f"text-{i}.txt")
            with open(path, "wb") as f:
                f.write(hostile_text(rng, rng.choice([10, 20000, 200000])).encode())
            cases.append(Case("text", f"perplexity #{i}", ["perplexity", "--model", model, "--file", path, "--ctx", "64", "-t", "1"],
                              files=[path]))
    return cases


# ---------------------------------------------------------------- option values

HOSTILE_NUMBERS = ["0", "-1", "1", "-0", "9223372036854775807", "9223372036854775808", "-9223372036854775808", "18446744073709551616",
                   "4294967296", "2147483648", "1e309", "nan", "inf", "-inf", "1.5", "0x10", "", " ", "abc", "1,2", "１", "٣",
                   "99999999999999999999999999999"]
SIZES = ["0", "1", "-1", "1K", "0.0001K", "99999999999999G", "1e20", "nanG", "1.5G", "16E", "8T", "G", "1KB", "1MiB"]


def option_cases(rng, work, model, count):
    plans = [
        ("run", ["-n", "--ctx", "-t", "--temp", "--seed", "--top-k", "--top-p", "--min-p", "--repeat-penalty", "--memory-budget", "--thread-speeds"]),
        ("bench", ["-p", "-n", "-t", "-r", "--ctx", "--memory-budget"]),
        ("plan", ["--ctx", "--prompt", "-t", "--memory-budget", "--gpu-memory-budget"]),
        ("perplexity", ["--ctx", "-t", "--memory-budget"]),
        ("tokenize", []),
        ("synth", ["--layers", "--seed"]),
    ]
    cases = []
    for i in range(count):
        command, options = rng.choice(plans)
        argv = [command]
        if command == "synth":
            argv += ["--shape", "smollm2-135m", "--out", os.path.join(work, f"synth-{i}.gguf"), "--force"]
        elif command == "plan":
            argv += ["--model", model]
        else:
            argv += ["--model", model]
        for _ in range(rng.randint(1, 3)):
            if not options:
                break
            o = rng.choice(options)
            v = rng.choice(SIZES if "budget" in o else HOSTILE_NUMBERS)
            argv.append(f"{o}={v}")
        if command == "perplexity":
            argv += ["--file", os.path.join(ROOT, "README.md")]
        if command == "bench":
            argv += ["-r", "1", "--no-roofline"] if "-r" not in " ".join(argv) else ["--no-roofline"]
        if command in ("run", "tokenize"):
            argv += ["--", "Hello"]
        if command == "run" and not any(a.startswith("-n") for a in argv):
            argv[1:1] = ["-n", "2"]
        cases.append(Case("options", f"#{i}", argv))
    # Devices where a file is expected: they never end, or never start.
    for i, (option, value) in enumerate([("--file", "/dev/zero"), ("--plan", "/dev/zero"), ("--profile", "/dev/urandom"),
                                         ("--model", "/dev/zero"), ("--file", "/dev/stdin"), ("--model", "/proc/self/mem")]):
        command = "perplexity" if option == "--file" else "run"
        argv = [command] + (["--model", model] if option != "--model" else []) + [option, value]
        argv += ["--file", os.path.join(ROOT, "README.md")] if command == "perplexity" and option != "--file" else []
        argv += ["--", "Hello"] if command == "run" else []
        cases.append(Case("options", f"special file {option} {value}", argv))
    return cases


# ---------------------------------------------------------------- files truncated while in use

def truncate_cases(rng, work, model, count):
    cases = []
    size = os.path.getsize(model)
    for i in range(count):
        path = os.path.join(work, f"truncated-{i}.gguf")
        delay = rng.choice([0.0, 0.02, 0.1, 0.3, 1.0])
        keep = rng.choice([0, 4096, size // 10, size // 2, size - 4096])

        def during(proc, path=path, delay=delay, keep=keep):
            time.sleep(delay)
            try:
                os.truncate(path, keep)
            except OSError:
                pass

        def prepare(path=path):
            shutil.copyfile(model, path)

        prepare()
        command = rng.choice([["bench", "-p", "32", "-n", "64", "-r", "2", "--no-roofline", "-t", "1"],
                              ["run", "-n", "64", "--temp", "1", "-t", "1", "--", "Once upon a time"]])
        argv = command[:1] + ["--model", path] + command[1:]
        cases.append(Case("truncate", f"#{i}: cut to {keep} bytes after {delay} s via {command[0]}", argv, files=[path], during=during))
    return cases


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--edgert", default=os.path.join(ROOT, ".build", "release", "edgert"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cases", type=int, default=100, help="cases per family (default 100)")
    ap.add_argument("--families", default="all")
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--memory-mb", type=float, default=1024.0)
    ap.add_argument("--work", default=None, help="folder for the generated files (default: a temporary one)")
    args = ap.parse_args()

    small = find_model("aidreams260K.Q8_0.gguf") or find_model("SmolLM2-135M-Instruct.Q4_1.gguf")
    larger = find_model("SmolLM2-135M-Instruct.Q4_K_M.gguf") or find_model("SmolLM2-135M-Instruct.Q4_1.gguf")
    if not small or not os.path.exists(args.edgert):
        sys.exit(f"fuzz: needs {args.edgert} (scripts/setup.sh builds it) and a model in ../shared/models or models/")
    work = args.work or tempfile.mkdtemp(prefix="edgert-fuzz-")
    os.makedirs(work, exist_ok=True)
    rng = random.Random(args.seed)
    families = ["templates", "gguf", "text", "options", "truncate"] if args.families == "all" else args.families.split(",")
    makers = {"templates": (template_cases, small), "gguf": (gguf_cases, small), "text": (text_cases, small),
              "options": (option_cases, small), "truncate": (truncate_cases, larger)}
    passed = failed = 0
    worst = {}
    for family in families:
        maker, model = makers[family]
        cases = maker(rng, work, model, args.cases if family != "truncate" else max(1, args.cases // 5))
        fam_passed = fam_failed = 0
        slowest = peak = 0.0
        for case in cases:
            outcome = run_case(args.edgert, case, args.timeout, args.memory_mb)
            problems = outcome.problems(args.timeout, args.memory_mb)
            slowest = max(slowest, outcome.seconds)
            peak = max(peak, outcome.peak_mb)
            if problems:
                fam_failed += 1
                print(f"FAIL {family} {case.name}: {'; '.join(problems)}")
                print("     edgert " + " ".join(repr(a) if (" " in a or not a) else a for a in case.argv)[:400])
                tail = outcome.stderr.strip().splitlines()[-2:]
                for l in tail:
                    print(f"     | {l[:300]}")
            else:
                fam_passed += 1
                for f in case.files:
                    if os.path.exists(f):
                        os.remove(f)
        print(f"{family}: {fam_passed} passed, {fam_failed} failed; slowest {slowest:.1f} s, peak memory {peak:.0f} MB")
        passed += fam_passed
        failed += fam_failed
    if failed == 0 and args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"fuzz: failing cases' files kept in {work}")
    print(f"fuzz: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
