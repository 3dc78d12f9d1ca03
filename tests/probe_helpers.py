"""What the probe tests share: the probe's settings, one lab probe, the politeness peak."""

from __future__ import annotations

import asyncio
from pathlib import Path

from lab.smtp import Lab
from probes import smtp
from probes.smtp import ProbeSettings, Target, run_sync


def probe_settings(*, deadline: float, read_timeout: float) -> ProbeSettings:
    """The test agency's probe identity, with the timing a test file wants."""
    return ProbeSettings(
        helo_name="probe.agency.example",
        sender="probe@agency.example",
        rcpt_domain="relaytest.agency.example",
        deadline=deadline,
        read_timeout=read_timeout,
    )


def lab_probe(lab: Lab, behaviour: str, settings: ProbeSettings) -> smtp.ProbeResult:
    """Probe a new lab host that plays ``behaviour``."""
    host = lab.hosts_add([behaviour])[0]
    return run_sync(smtp.probe(Target(ip=host.ip, port=host.port), settings))


def peak_in_flight(monkeypatch, politeness: smtp.Politeness, targets: list[Target]) -> int:
    """The most probes in flight at once when these targets are run through ``politeness``."""
    running = {"now": 0, "peak": 0}
    settings = probe_settings(deadline=8, read_timeout=2)

    async def fake(target, settings):
        running["now"] += 1
        running["peak"] = max(running["peak"], running["now"])
        await asyncio.sleep(0.01)
        running["now"] -= 1
        return smtp.ProbeResult(ip=target.ip, port=25, verdict=smtp.NOT_RELAY)

    async def go():
        await asyncio.gather(*(politeness.run(t, settings) for t in targets))

    monkeypatch.setattr(smtp, "probe", fake)
    run_sync(go())
    return running["peak"]


def lab_mode_set(settings, tmp_path: Path) -> Path:
    """Probe the lab in-process (no Redis worker here); returns the host map to write."""
    settings.LAB_MODE = True
    settings.LAB_HOST_MAP = str(tmp_path / "lab-map.json")
    settings.PROBE_DEADLINE = 5
    settings.PROBE_READ_TIMEOUT = 3
    settings.REDIS_URL = ""
    return tmp_path / "lab-map.json"
