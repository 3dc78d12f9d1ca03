"""An RDAP registry simulator on loopback, for tests, the demo and benchmarks.

It answers ``/bootstrap/ip/<ip>`` and every registry's ``.../ip/<ip>`` path
(point ``RDAP_BASE_URL`` at it) from recorded answers, exact address or
containing range, or from a generator. It can wait before answering, send a
429 on every Nth request, and serve broken answers for chosen addresses
(``faults``: html, loop, huge, notice, 429, 500, array). It counts requests
and, per network, how many were in flight at once.

    python -m lab.rdap --port 8043 --latency 0.05 --fail-every 100
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

from probes.rdap import address_parse

FIXTURES = (
    Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "rdap" / "ipwhois-rdap.json"
)
REGISTRY_URLS = {
    "whois.arin.net": "https://rdap.arin.net/registry/ip/",
    "whois.ripe.net": "https://rdap.db.ripe.net/ip/",
    "whois.apnic.net": "https://rdap.apnic.net/ip/",
    "whois.lacnic.net": "https://rdap.lacnic.net/rdap/ip/",
    "whois.afrinic.net": "https://rdap.afrinic.net/rdap/ip/",
}
Generator = Callable[[str], dict | None]


def recorded_answers(path: Path = FIXTURES) -> dict[str, dict]:
    """The recorded answers (ipwhois test data, BSD), keyed by the address asked."""
    data = json.loads(path.read_text())
    return {ip: entry["response"] for ip, entry in data.items()}


def generated_answer(ip: str, *, prefix_v4: int = 24, prefix_v6: int = 48) -> dict:
    """A plausible RIPE-style answer for the /prefix around ``ip`` (.example mail)."""
    address = ipaddress.ip_address(ip)
    prefix = prefix_v4 if address.version == 4 else prefix_v6
    network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    tag = format(int(network.network_address) >> (network.max_prefixlen - prefix), "x")
    return {
        "objectClassName": "ip network",
        "handle": f"LAB-{tag}",
        "name": f"LAB-NET-{tag}",
        "country": "FR",
        "port43": "whois.ripe.net",
        "ipVersion": f"v{address.version}",
        "startAddress": str(network.network_address),
        "endAddress": str(network.broadcast_address),
        "entities": [
            {
                "handle": f"ABUSE-{tag}",
                "roles": ["abuse"],
                "vcardArray": [
                    "vcard",
                    [
                        ["version", {}, "text", "4.0"],
                        ["fn", {}, "text", f"Lab ISP {tag}"],
                        ["email", {}, "text", f"abuse@isp-{tag}.example"],
                    ],
                ],
            }
        ],
    }


class RdapSimulator:
    """A threaded HTTP server on 127.0.0.1; use as a context manager."""

    def __init__(
        self,
        *,
        answers: dict[str, dict] | None = None,
        generate: Generator | None = None,
        latency: float = 0.0,
        fail_every: int = 0,
        faults: dict[str, str] | None = None,
        redirect: bool = False,
        port: int = 0,
        limits: dict[str, tuple[int, float]] | None = None,
        block_after: int = 3,
        block_seconds: float = 300.0,
    ) -> None:
        self.answers = answers or {}
        self.generate = generate
        self.latency = latency
        self.fail_every = fail_every
        self.faults = faults or {}
        self.redirect = redirect
        # Each registry's published limit, enforced as the registry does:
        # {"lacnic": (10, 60.0)} is 10 requests per 60 s; an excess gets a
        # 429 with Retry-After, and ``block_after`` excesses block the
        # client for ``block_seconds`` (LACNIC: about 5 minutes).
        self.limits = limits or {}
        self.block_after = block_after
        self.block_seconds = block_seconds
        self.over_limit: dict[str, int] = {}
        self.blocked_until: dict[str, float] = {}
        self._recent: dict[str, list[float]] = {}
        self.requests = 0
        self.rate_limited = 0
        self.paths: list[str] = []
        self.max_in_flight: dict[str, int] = {}
        self._in_flight: dict[str, int] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> RdapSimulator:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def limit_check(self, ip: str) -> float:
        """0 when the request is within its registry's limit, else seconds to wait."""
        from probes.bootstrap import registry_for

        registry = registry_for(ip) if self.limits else ""
        if registry not in self.limits:
            return 0.0
        count, window = self.limits[registry]
        now = time.monotonic()
        with self._lock:
            if self.blocked_until.get(registry, 0) > now:
                self.over_limit[registry] = self.over_limit.get(registry, 0) + 1
                return self.blocked_until[registry] - now
            recent = [t for t in self._recent.get(registry, []) if t > now - window]
            if len(recent) < count:
                self._recent[registry] = [*recent, now]
                return 0.0
            self._recent[registry] = recent
            self.over_limit[registry] = self.over_limit.get(registry, 0) + 1
            if self.over_limit[registry] % self.block_after == 0:
                self.blocked_until[registry] = now + self.block_seconds
                return self.block_seconds
            return recent[0] + window - now

    def duplicate_in_flight(self) -> int:
        """Networks that were asked for by two requests at the same time."""
        return sum(1 for count in self.max_in_flight.values() if count > 1)

    def answer_for(self, ip: str) -> dict | None:
        if ip in self.answers:
            return self.answers[ip]
        for answer in self.answers.values():
            if _holds(answer, ip):
                return answer
        return self.generate(ip) if self.generate else None

    def count(self, path: str) -> int:
        with self._lock:
            self.requests += 1
            self.paths.append(path)
            return self.requests

    def enter(self, key: str) -> None:
        with self._lock:
            self._in_flight[key] = self._in_flight.get(key, 0) + 1
            self.max_in_flight[key] = max(self.max_in_flight.get(key, 0), self._in_flight[key])

    def leave(self, key: str) -> None:
        with self._lock:
            self._in_flight[key] -= 1


def _holds(answer: dict, ip: str) -> bool:
    start, end = address_parse(answer.get("startAddress")), address_parse(answer.get("endAddress"))
    try:
        return start is not None and end is not None and start <= ipaddress.ip_address(ip) <= end
    except (TypeError, ValueError):
        return False


def _handler_for(sim: RdapSimulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: tests and benchmarks read the counters instead

        def do_GET(self) -> None:
            number = sim.count(self.path)
            ip = unquote(self.path.rsplit("/ip/", 1)[-1]) if "/ip/" in self.path else ""
            if not ip:
                return self._send(404, {"errorCode": 404, "title": "Not Found"})
            if sim.fail_every and number % sim.fail_every == 0:
                with sim._lock:
                    sim.rate_limited += 1
                return self._send(429, {"errorCode": 429}, {"Retry-After": "1"})
            wait = sim.limit_check(ip)
            if wait > 0:
                with sim._lock:
                    sim.rate_limited += 1
                headers = {"Retry-After": str(max(1, round(wait + 0.5)))}
                return self._send(429, {"errorCode": 429, "title": "Too Many Requests"}, headers)
            answer = sim.answer_for(ip)
            key = str(answer.get("handle") or ip) if answer else ip
            sim.enter(key)
            try:
                if sim.latency:
                    time.sleep(sim.latency)
                self._answer(ip, answer)
            finally:
                sim.leave(key)

        def _answer(self, ip: str, answer: dict | None) -> None:
            fault = sim.faults.get(ip)
            if fault:
                return self._fault(fault, ip)
            if answer is None:
                return self._send(404, {"errorCode": 404, "title": "Not Found"})
            if sim.redirect and self.path.startswith("/bootstrap/"):
                target = REGISTRY_URLS.get(
                    str(answer.get("port43")), REGISTRY_URLS["whois.arin.net"]
                )
                return self._send(302, {}, {"Location": target + ip})
            return self._send(200, answer)

        def _fault(self, fault: str, ip: str) -> None:
            if fault == "html":
                return self._raw(200, b"<html><body>Service unavailable</body></html>", "text/html")
            if fault == "loop":
                return self._send(302, {}, {"Location": self.path})
            if fault == "huge":
                return self._raw(200, b'{"name": "' + b"x" * 3_000_000 + b'"}')
            if fault == "notice":
                return self._send(200, {"notices": [{"title": "Rate Limit Notice"}]})
            if fault == "array":
                return self._send(200, [ip])
            return self._send(int(fault), {"errorCode": int(fault)})

        def _send(self, status: int, body: object, headers: dict | None = None) -> None:
            self._raw(status, json.dumps(body).encode(), "application/rdap+json", headers)

        def _raw(
            self,
            status: int,
            body: bytes,
            ctype: str = "application/rdap+json",
            headers: dict | None = None,
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description="RDAP registry simulator on loopback.")
    parser.add_argument("--port", type=int, default=8043)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument("--fail-every", type=int, default=0, help="429 on every Nth request")
    args = parser.parse_args()
    sim = RdapSimulator(
        answers=recorded_answers(),
        generate=generated_answer,
        latency=args.latency,
        fail_every=args.fail_every,
        port=args.port,
    )
    with sim:
        print(f"RDAP simulator on {sim.base_url} (set RDAP_BASE_URL to it); Ctrl-C stops it")
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
