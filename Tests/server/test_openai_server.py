"""`edgert serve` driven over loopback by the `openai` client, as tools that speak OpenAI's API do.

Run by scripts/test.sh after `swift test` (it builds the release binary and fetches the default
model). Each server here binds port 0 on 127.0.0.1 and is stopped at the end; nothing else is
contacted. Skips (visibly) when the binary or the model is absent.
"""
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.environ.get("EDGERT_BIN", os.path.join(ROOT, ".build", "release", "edgert"))
MODEL = os.environ.get("EDGERT_MODEL", os.path.join(ROOT, "models", "SmolLM2-135M-Instruct.Q4_1.gguf"))
KEY = "test-key-123"

try:
    import openai
except ImportError:  # pragma: no cover - scripts/test.sh installs it
    openai = None


class Server:
    """One `edgert serve` process on a free loopback port."""

    def __init__(self, *extra):
        self.proc = subprocess.Popen(
            [BINARY, "serve", "--model", MODEL, "--port", "0", "--ctx", "1024", "-t", "2", *extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.log = []
        self.port = None
        deadline = time.time() + 60
        while self.port is None:
            line = self.proc.stderr.readline()
            if not line:
                raise RuntimeError("edgert serve exited: " + "".join(self.log))
            self.log.append(line)
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
            if m:
                self.port = int(m.group(1))
            if time.time() > deadline:
                raise RuntimeError("edgert serve did not listen: " + "".join(self.log))
        threading.Thread(target=self._drain, daemon=True).start()
        self.first_health = self.health()[0]
        while self.health()[0] != 200:
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("edgert serve did not become ready: " + "".join(self.log))
            time.sleep(0.05)

    def _drain(self):
        for line in self.proc.stderr:
            self.log.append(line)

    def health(self):
        return self.request("GET", "/health", auth=False)

    def request(self, method, path, body=None, auth=True, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        h = {"Content-Type": "application/json"}
        if auth:
            h["Authorization"] = "Bearer " + KEY
        h.update(headers or {})
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        conn.close()
        return r.status, data, dict(r.getheaders())

    def client(self, key=KEY):
        return openai.OpenAI(base_url=f"http://127.0.0.1:{self.port}/v1", api_key=key, max_retries=0, timeout=120)

    def metrics(self):
        status, data, _ = self.request("GET", "/metrics")
        assert status == 200, status
        values = {}
        for line in data.decode().splitlines():
            if line.startswith("#") or not line.strip():
                continue
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
        return values

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stderr.close()


def sse_events(server, path, body):
    """The raw `data:` payloads of a streamed response, in order."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    conn.request("POST", path, body=json.dumps(body),
                 headers={"Content-Type": "application/json", "Authorization": "Bearer " + KEY})
    r = conn.getresponse()
    assert r.status == 200, (r.status, r.read())
    assert r.getheader("Content-Type").startswith("text/event-stream")
    events = []
    for raw in r:
        line = raw.decode().rstrip("\n")
        if line.startswith("data: "):
            events.append(line[len("data: "):])
    conn.close()
    return events


@unittest.skipIf(openai is None, "the openai package is not installed (scripts/test.sh installs it)")
@unittest.skipUnless(os.path.exists(BINARY), f"no edgert binary at {BINARY} (swift build -c release)")
@unittest.skipUnless(os.path.exists(MODEL), f"no model at {MODEL} (scripts/fetch-model.sh)")
class OpenAIServerTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server("--parallel", "4", "--max-queue", "8", "--api-key", KEY)
        cls.client = cls.server.client()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def chat(self, content, **kw):
        return self.client.chat.completions.create(
            model="any", messages=[{"role": "user", "content": content}], **kw)

    def streamed_chat(self, content, **kw):
        chunks = list(self.client.chat.completions.create(
            model="any", messages=[{"role": "user", "content": content}], stream=True, **kw))
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        return text, chunks

    def test_health_and_models(self):
        self.assertIn(self.server.first_health, (200, 503))
        self.assertEqual(self.server.health()[0], 200)
        models = self.client.models.list()
        self.assertEqual([m.id for m in models.data], ["SmolLM2-135M-Instruct.Q4_1"])

    def test_chat_streamed_equals_whole_at_temperature_zero(self):
        whole = self.chat("What is the capital of France?", max_tokens=24, temperature=0)
        text, chunks = self.streamed_chat("What is the capital of France?", max_tokens=24, temperature=0)
        self.assertTrue(whole.choices[0].message.content)
        self.assertEqual(text, whole.choices[0].message.content)
        self.assertEqual(whole.choices[0].message.role, "assistant")
        self.assertEqual(chunks[0].choices[0].delta.role, "assistant", "the first delta carries the role")
        finishing = [c for c in chunks if c.choices and c.choices[0].finish_reason is not None]
        self.assertEqual(len(finishing), 1, "exactly one chunk has a finish_reason")
        self.assertEqual(finishing[0].choices[0].finish_reason, whole.choices[0].finish_reason)
        self.assertEqual(whole.usage.completion_tokens + whole.usage.prompt_tokens, whole.usage.total_tokens)

    def test_completion_with_a_seed_repeats_streamed_or_not(self):
        kw = dict(model="any", prompt="Once upon a time", max_tokens=20, temperature=0.9, seed=1234)
        a = self.client.completions.create(**kw)
        b = self.client.completions.create(**kw)
        s = "".join(c.choices[0].text for c in self.client.completions.create(stream=True, **kw) if c.choices)
        self.assertEqual(a.choices[0].text, b.choices[0].text)
        self.assertEqual(s, a.choices[0].text)
        self.assertEqual(a.object, "text_completion")
        self.assertEqual(a.usage.completion_tokens, 20)
        self.assertEqual(a.choices[0].finish_reason, "length")

    def test_include_usage_and_the_done_marker(self):
        events = sse_events(self.server, "/v1/chat/completions", {
            "model": "m", "messages": [{"role": "developer", "content": "Be brief."},
                                       {"role": "user", "content": [{"type": "text", "text": "Say hi"}]}],
            "max_tokens": 8, "temperature": 0, "stream": True, "stream_options": {"include_usage": True}})
        self.assertEqual(events[-1], "[DONE]")
        objects = [json.loads(e) for e in events[:-1]]
        usage = objects[-1]
        self.assertEqual(usage["choices"], [])
        self.assertEqual(usage["usage"]["total_tokens"], usage["usage"]["prompt_tokens"] + usage["usage"]["completion_tokens"])
        self.assertEqual(sum(1 for o in objects if o["choices"] and o["choices"][0]["finish_reason"]), 1)
        self.assertTrue(all("usage" not in o for o in objects[:-1]))

    def test_a_stop_string_never_appears(self):
        prompt = "Write a sentence about the sea."
        full = self.chat(prompt, max_tokens=40, temperature=0).choices[0].message.content
        self.assertGreater(len(full), 12, full)
        stop = full[6:10]
        cut = self.chat(prompt, max_tokens=40, temperature=0, stop=[stop, "zzzz-never"])
        expected = full[:full.index(stop)]
        self.assertEqual(cut.choices[0].message.content, expected)
        self.assertEqual(cut.choices[0].finish_reason, "stop")
        streamed, _ = self.streamed_chat(prompt, max_tokens=40, temperature=0, stop=stop)
        self.assertEqual(streamed, expected)

    def test_an_overlong_prompt_is_a_400_with_both_numbers(self):
        with self.assertRaises(openai.BadRequestError) as ctx:
            self.chat("word " * 1500, max_tokens=10)
        message = ctx.exception.body["message"]
        self.assertRegex(message, r"\d+ tokens")
        self.assertIn("1024", message)
        with self.assertRaises(openai.BadRequestError):
            self.chat("hello", max_tokens=5000)

    def test_unsupported_fields_are_refused_by_name(self):
        cases = [
            dict(n=2),
            dict(tools=[{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]),
            dict(response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}),
            dict(logprobs=True),
            dict(extra_body={"mirostat": 2}),
        ]
        for kw in cases:
            with self.subTest(kw=kw), self.assertRaises(openai.BadRequestError) as ctx:
                self.chat("hi", max_tokens=4, **kw)
            name = next(iter(kw)) if "extra_body" not in kw else "mirostat"
            self.assertEqual(ctx.exception.body["param"], name)
            self.assertIn(name, ctx.exception.body["message"])

    def test_penalties_are_honoured_and_bounded(self):
        plain = self.chat("List the days of the week.", max_tokens=40, temperature=0).choices[0].message.content
        penalised = self.chat("List the days of the week.", max_tokens=40, temperature=0,
                              frequency_penalty=2.0, presence_penalty=2.0).choices[0].message.content
        self.assertNotEqual(plain, penalised, "a strong penalty changes greedy text")
        for name in ("frequency_penalty", "presence_penalty", "temperature"):
            with self.subTest(name=name), self.assertRaises(openai.BadRequestError) as ctx:
                self.chat("hi", max_tokens=4, **{name: 3.5 if name != "temperature" else 1e9})
            self.assertEqual(ctx.exception.body["param"], name)

    def test_a_wrong_key_is_a_401(self):
        with self.assertRaises(openai.AuthenticationError):
            self.server.client(key="wrong").models.list()
        status, body, _ = self.server.request("GET", "/v1/models", auth=False)
        self.assertEqual(status, 401)
        self.assertEqual(json.loads(body)["error"]["type"], "authentication_error")
        self.assertEqual(self.server.health()[0], 200, "/health needs no key")

    def test_malformed_json_is_a_400(self):
        for body in [b"{not json", b"[1, 2]", b'{"messages": "hi"}', b'{"messages": [{"role": "user", "content": 5}]}',
                     b'{"messages": [{"role": "user", "content": "x"}], "max_tokens": "ten"}', b'\xff\xfe']:
            with self.subTest(body=body):
                status, data, _ = self.server.request("POST", "/v1/chat/completions", body=body)
                self.assertEqual(status, 400, data)
                self.assertIn("message", json.loads(data)["error"])
        status, data, _ = self.server.request("POST", "/v1/nothing", body=b"{}")
        self.assertEqual(status, 404)
        self.assertEqual(self.server.health()[0], 200, "the server is still up")

    def test_tokenize_and_detokenize(self):
        status, data, _ = self.server.request("POST", "/tokenize", body=json.dumps({"content": "Hello world"}))
        self.assertEqual(status, 200)
        tokens = json.loads(data)["tokens"]
        self.assertGreater(len(tokens), 1)
        status, data, _ = self.server.request("POST", "/detokenize", body=json.dumps({"tokens": tokens}))
        self.assertEqual(json.loads(data)["content"], "Hello world")

    def wait_idle(self, seconds):
        """Seconds until no request runs, or None if one still does after `seconds`."""
        t0 = time.time()
        while time.time() - t0 < seconds:
            if self.server.metrics().get("edgert_requests_running", 1) == 0:
                return time.time() - t0
            time.sleep(0.02)
        return None

    def test_a_closed_stream_frees_its_slot(self):
        cancelled = self.server.metrics()["edgert_requests_cancelled_total"]
        stream = self.client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "Tell me a very long story."}],
            max_tokens=900, temperature=0, stream=True)
        for i, _ in enumerate(stream):
            if i == 1:
                break
        stream.close()
        # 900 tokens take seconds; a freed slot takes a step.
        self.assertIsNotNone(self.wait_idle(1.0), "the slot is still busy a second after the client left")
        self.assertEqual(self.server.metrics()["edgert_requests_cancelled_total"], cancelled + 1)

    def test_a_client_leaving_during_its_prompt_frees_its_slot(self):
        cancelled = self.server.metrics()["edgert_requests_cancelled_total"]
        body = json.dumps({"model": "m", "prompt": "alpha beta gamma delta " * 200, "max_tokens": 100, "temperature": 0})
        sock = socket.create_connection(("127.0.0.1", self.server.port))
        sock.sendall((f"POST /v1/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\n"
                      f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n{body}").encode())
        time.sleep(0.3)   # the ~800-token prompt is being evaluated, in chunks
        self.assertEqual(self.server.metrics()["edgert_requests_running"], 1)
        sock.close()
        self.assertIsNotNone(self.wait_idle(1.0), "the slot is still busy a second after the client left")
        self.assertEqual(self.server.metrics()["edgert_requests_cancelled_total"], cancelled + 1)

    def test_four_concurrent_streams_give_the_text_they_give_alone(self):
        prompts = ["Name a fruit.", "What is 2 + 2?", "Describe the moon in one sentence.", "Say something kind."]
        alone = [self.streamed_chat(p, max_tokens=32, temperature=0)[0] for p in prompts]
        results = [None] * 4

        def run(i):
            results[i] = self.streamed_chat(prompts[i], max_tokens=32, temperature=0)[0]
        threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(results, alone)


@unittest.skipIf(openai is None, "the openai package is not installed (scripts/test.sh installs it)")
@unittest.skipUnless(os.path.exists(BINARY), f"no edgert binary at {BINARY} (swift build -c release)")
@unittest.skipUnless(os.path.exists(MODEL), f"no model at {MODEL} (scripts/fetch-model.sh)")
class OneSlotServerTests(unittest.TestCase):
    def test_a_full_queue_is_a_503_with_retry_after_and_metrics_add_up(self):
        server = Server("--parallel", "1", "--max-queue", "1", "--api-key", KEY)
        try:
            body = json.dumps({"model": "m", "prompt": "Count: one, two,", "max_tokens": 64, "temperature": 0})
            outcomes = [None] * 3

            def run(i):
                outcomes[i] = server.request("POST", "/v1/completions", body=body)
            threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
            for t in threads:
                t.start()
                time.sleep(0.02)
            for t in threads:
                t.join()
            statuses = sorted(o[0] for o in outcomes)
            self.assertEqual(statuses, [200, 200, 503])
            refused = next(o for o in outcomes if o[0] == 503)
            self.assertIn("Retry-After", refused[2])
            usages = [json.loads(o[1])["usage"] for o in outcomes if o[0] == 200]
            m = server.metrics()
            self.assertEqual(m["edgert_prompt_tokens_total"], sum(u["prompt_tokens"] for u in usages))
            self.assertEqual(m["edgert_generated_tokens_total"], sum(u["completion_tokens"] for u in usages))
            self.assertEqual(m["edgert_requests_rejected_total"], 1)
            self.assertIn('edgert_time_to_first_token_seconds_bucket{le="+Inf"}', m)
            # The second request repeated the first's prompt in the same slot: its prefix was reused.
            self.assertGreater(max(u["prompt_tokens_details"]["cached_tokens"] for u in usages), 0)
        finally:
            server.stop()
        self.assertEqual(server.proc.returncode, 0)

    def test_a_port_in_use_is_a_clear_error(self):
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            r = subprocess.run([BINARY, "serve", "--model", MODEL, "--port", str(port)], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"error: cannot listen on 127.0.0.1:{port}", r.stderr)

    def test_sigterm_mid_stream_ends_the_stream_with_done_and_exits_zero(self):
        server = Server()
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
        conn.request("POST", "/v1/completions", body=json.dumps(
            {"model": "m", "prompt": "The history of", "max_tokens": 200, "temperature": 0, "stream": True}),
            headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        events = []
        for raw in r:
            line = raw.decode().rstrip("\n")
            if line.startswith("data: "):
                events.append(line[6:])
                if len(events) == 3:
                    server.proc.send_signal(signal.SIGTERM)
        conn.close()
        self.assertEqual(events[-1], "[DONE]")
        self.assertGreater(len(events), 4)
        self.assertEqual(server.proc.wait(timeout=60), 0, "".join(server.log))
        server.stop()
        with self.assertRaises(OSError):
            server.request("GET", "/health", auth=False)


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


@unittest.skipUnless(os.path.exists(BINARY), f"no edgert binary at {BINARY} (swift build -c release)")
@unittest.skipUnless(os.path.exists(MODEL), f"no model at {MODEL} (scripts/fetch-model.sh)")
class LoadTests(unittest.TestCase):
    """A bounded load: 200 requests (fixed count, a time limit) from 8 clients on loopback, a third
    of them dropped mid-way, streamed or not."""

    def test_random_disconnects_leave_no_slot_busy_and_no_memory_growth(self):
        import random
        server = Server("--parallel", "4", "--max-queue", "64")
        rng = random.Random(7)
        words = "the quick brown fox jumps over a lazy dog while rain falls on the old town".split()
        try:
            # Warm-up: long prompts in every slot commit the KV pages the load will reuse.
            def long_request(_):
                server.request("POST", "/v1/completions", json.dumps(
                    {"model": "m", "prompt": " ".join(words * 30), "max_tokens": 16, "temperature": 0}), auth=False)
            warm = [threading.Thread(target=long_request, args=(i,)) for i in range(8)]
            for t in warm:
                t.start()
            for t in warm:
                t.join()
            before = rss_mib(server.proc.pid)
            plans = [(rng.random() < 0.5, rng.random() < 0.33, rng.uniform(0, 0.3),
                      " ".join(rng.choice(words) for _ in range(rng.randint(3, 200))), rng.randint(1, 16)) for _ in range(200)]
            problems, completed, dropped = [], [0], [0]
            lock = threading.Lock()
            deadline = time.time() + 240

            def one(stream, drop, delay, prompt, tokens):
                body = json.dumps({"model": "m", "prompt": prompt, "max_tokens": tokens, "temperature": 0.7,
                                   "seed": 1, "stream": stream})
                sock = socket.create_connection(("127.0.0.1", server.port), timeout=60)
                sock.sendall((f"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                              f"Connection: close\r\nContent-Length: {len(body)}\r\n\r\n{body}").encode())
                if drop:
                    time.sleep(delay)
                    sock.close()
                    with lock:
                        dropped[0] += 1
                    return
                data = b""
                while True:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                sock.close()
                head, _, payload = data.partition(b"\r\n\r\n")
                status = int(head.split()[1])
                ok = status == 200
                if ok and stream:
                    events = [l[6:] for l in payload.decode(errors="replace").split("\n") if l.startswith("data: ")]
                    ok = events and events[-1] == "[DONE]" and sum(
                        1 for e in events[:-1] if json.loads(e)["choices"][0]["finish_reason"]) == 1
                elif ok:
                    if b"chunked" in head.lower():
                        # De-chunk: size line, data, CRLF.
                        out, rest = b"", payload
                        while rest:
                            size_line, _, rest = rest.partition(b"\r\n")
                            size = int(size_line, 16)
                            if size == 0:
                                break
                            out, rest = out + rest[:size], rest[size + 2:]
                        payload = out
                    o = json.loads(payload)
                    ok = o["choices"][0]["finish_reason"] in ("stop", "length") and o["usage"]["completion_tokens"] <= tokens
                with lock:
                    completed[0] += 1
                    if not ok:
                        problems.append((status, data[:300]))

            def worker(k):
                for i in range(k, len(plans), 8):
                    if time.time() > deadline:
                        return
                    one(*plans[i])
            threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assertEqual(problems, [])
            self.assertEqual(completed[0] + dropped[0], 200, "the load ran out of time")
            t0 = time.time()
            while time.time() - t0 < 3:
                m = server.metrics()
                if m["edgert_requests_running"] == 0 and m["edgert_requests_queued"] == 0:
                    break
                time.sleep(0.05)
            self.assertEqual((m["edgert_requests_running"], m["edgert_requests_queued"]), (0, 0), "a slot is still busy")
            # Every request read whole was completed; a dropped one was cancelled, or had finished,
            # or never reached a handler.
            self.assertGreaterEqual(m["edgert_requests_completed_total"], completed[0] + 8)
            self.assertLessEqual(m["edgert_requests_completed_total"] + m["edgert_requests_cancelled_total"], 208)
            growth = rss_mib(server.proc.pid) - before
            print(f"\nload: {completed[0]} completed, {dropped[0]} dropped, "
                  f"{m['edgert_requests_cancelled_total']:.0f} cancelled in a slot; RSS {before:.1f} MiB -> +{growth:.1f} MiB")
            self.assertLess(growth, 24, "memory grew beyond the KV caches the warm-up committed")
        finally:
            server.stop()


if __name__ == "__main__":
    result = unittest.main(verbosity=2, exit=False).result
    failed = len(result.failures) + len(result.errors)
    skipped = len(result.skipped)
    print(f"server: {result.testsRun - failed - skipped} passed, {failed} failed, {skipped} skipped")
    sys.exit(1 if failed else 0)
