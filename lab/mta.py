"""Real mail servers as lab hosts: Postfix, Exim and OpenSMTPD from Debian packages.

Lab code only (never imported by the product). Each MTA runs as root from a
private folder under a temporary directory, listens only on 127.N.M.P port 25
(port 25 so nmap's smtp-open-relay runs against the same listeners), one
listener per relay policy, and cannot deliver anything:

- Postfix: every transport is ``discard:``, and master.cf has no smtp, lmtp,
  local, pipe or virtual service.
- Exim: every router is a ``:blackhole:`` redirect, there are no transports,
  ``queue_only`` is set and no queue runner is ever started.
- OpenSMTPD: the only actions relay to a closed loopback port, and the mta and
  mda subsystems are paused from start-up (``-P mta -P mda``).

Each server also runs in a mount namespace of its own whose /etc/resolv.conf
names only 127.0.0.1, so even a DNS lookup we failed to switch off cannot leave
the machine. Postfix's and Exim's reverse lookups are off anyway; OpenSMTPD's
cannot be switched off, and /etc/hosts answers them. OpenSMTPD's compiled-in
spool, chroot and socket paths are private mounts in that namespace too.

Debian's MTA packages conflict, so ``make system-deps-mta`` installs Postfix
and unpacks Exim and OpenSMTPD with ``dpkg-deb -x`` into ``var/mta/root``.

    with MtaLab(network=25) as lab:          # another network if another lab runs
        for listener in lab.listeners:      # Listener(mta, policy, ip, port=25)
            print(listener.mta, listener.policy, listener.ip, listener.truth)
        lab.listener("exim", "closed").ip   # '127.25.2.2'
        lab.lab_map()                       # a LAB_HOST_MAP: each listener maps to itself
        lab.log("postfix")                  # what the MTA logged, for diagnosis
        lab.exim_route(address, "routing")  # where Exim would really send a recipient

``python -m lab.mta`` starts them all and prints the listeners.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

ROOT = Path(os.environ.get("OUTREACH_MTA_ROOT", Path(__file__).resolve().parent.parent / "var/mta"))
UNPACKED = ROOT / "root"
PORT = 25
# A closed loopback port: where OpenSMTPD's relay action would send, if it
# were ever allowed to run (its mta subsystem is paused).
NOWHERE = "127.0.0.1:9"

# The policies, in the order listeners are numbered. What each one really does
# (the truth our verdict must match) is in TRUTH, per MTA.
POLICIES = (
    "open",  # relays for anyone
    "closed",  # relays for no one
    "auth",  # relays only after AUTH, says 530 otherwise
    "starttls",  # 530 until STARTTLS, then relays for anyone
    "routing",  # relays only what comes through % (or quoted) routing
    "greylist",  # 4xx to every RCPT
    "refuse",  # refuses our client with a 5xx at connect
    "refuse_temp",  # refuses our client with a 4xx at connect
    "deny_client",  # lets us talk, then denies our client address with a 5xx at MAIL or RCPT
    "tarpit",  # answers far slower than the probe waits
)
MTAS = ("postfix", "exim", "opensmtpd")
# Where a master that leaves our process group writes its pid, under its folder.
PID_FILES = {"postfix": "queue/pid/master.pid"}

# What each listener really does, as far as each MTA can express the policy.
# A missing (mta, policy) pair is a policy that MTA cannot express.
TRUTH: dict[tuple[str, str], str] = {
    **{(mta, "open"): "relays for anyone" for mta in MTAS},
    **{(mta, "closed"): "relays for no one" for mta in MTAS},
    **{(mta, "auth"): "AUTH required (530) before any relaying" for mta in MTAS},
    **{(mta, "starttls"): "530 until STARTTLS, then relays for anyone" for mta in MTAS},
    ("opensmtpd", "starttls"): (
        "530 until STARTTLS, then would relay for anyone, but its TLS handshake always fails"
        " (Debian 12's 6.8.0p2 with OpenSSL 3: 'EVP lib', OpenSMTPD issues #1171 and #1239),"
        " so nobody can get past the 530"
    ),
    ("postfix", "routing"): (
        "does not relay: an access table permits any recipient containing %, but Postfix"
        " applies the percent hack (user%domain@[its own address] → user@domain) before its"
        " relay check, so the routed form is refused like the direct one"
    ),
    ("exim", "routing"): (
        "relays only through %: a redirect router turns user%domain@[its own address], a"
        " local address that passes the relay ACL, into user@domain and routes it to the"
        " remote (relay) router, the classic percent-hack hole"
    ),
    ("opensmtpd", "routing"): (
        "does not relay: it accepts any recipient at its own names (a catch-all kept in a"
        " local mailbox), so user%domain@[its own address] gets 250 but is never routed on"
        " (OpenSMTPD has no percent hack)"
    ),
    **{(mta, "greylist"): "a 4xx to every RCPT: try again later" for mta in MTAS},
    **{(mta, "refuse"): "refuses our client with a 5xx at connect" for mta in MTAS},
    **{(mta, "refuse_temp"): "refuses our client with a 4xx at connect" for mta in MTAS},
    **{
        (mta, "deny_client"): "denies our client address (5xx naming the client, not the recipient)"
        for mta in MTAS
    },
    ("postfix", "tarpit"): "waits 60 s before its banner",
    ("exim", "tarpit"): "waits 60 s before its banner",
    ("opensmtpd", "tarpit"): "waits 60 s before its banner (a filter that stalls at connect)",
}


class MtaUnavailable(RuntimeError):
    """The packages are not installed, or we are not root."""


@dataclass(frozen=True)
class Listener:
    mta: str
    policy: str
    ip: str
    port: int = PORT

    @property
    def truth(self) -> str:
        return TRUTH[(self.mta, self.policy)]


def policies_of(mta: str) -> list[str]:
    """The policies this MTA can express, in POLICIES order."""
    return [p for p in POLICIES if (mta, p) in TRUTH]


def binaries() -> dict[str, Path]:
    return {
        "postfix": Path("/usr/sbin/postfix"),
        "exim": UNPACKED / "usr/sbin/exim4",
        "opensmtpd": UNPACKED / "usr/sbin/smtpd",
    }


def missing(mtas: tuple[str, ...] = MTAS) -> list[str]:
    """Why the real-MTA lab cannot run here (empty when it can)."""
    paths = binaries()
    reasons = [f"{mta}: {paths[mta]} not found" for mta in mtas if not paths[mta].exists()]
    if os.geteuid() != 0:
        reasons.append("not root (the MTAs bind port 25 and switch users)")
    if not shutil.which("unshare") or not shutil.which("openssl"):
        reasons.append("unshare (util-linux) and openssl are needed")
    return reasons


# The system users the unpacked packages' maintainer scripts would have made.
SYSTEM_USERS = ("Debian-exim", "opensmtpd", "opensmtpq")


def users_ensure() -> None:
    for user in SYSTEM_USERS:
        if _run(["id", user], check=False).returncode:
            home = [
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
            ]
            _run(["useradd", "--system", "--user-group", *home, user])


def _run(args: list[str], *, check: bool = True) -> subprocess.CompletedProcess:
    # Fixed argument lists naming system or unpacked binaries: nothing comes from outside.
    return subprocess.run(args, check=check, capture_output=True, text=True)  # noqa: S603


def _listening(ip: str, *, greets: bool = False) -> bool:
    """Something accepts on ip:25 (and, with ``greets``, says something first)."""
    with contextlib.suppress(OSError), socket.create_connection((ip, PORT), 0.2) as sock:
        if greets:
            sock.settimeout(10)
            return bool(sock.recv(1))
        return True
    return False


class MtaLab:
    """Starts the MTAs with one listener per policy on 127.<network>.<m>.<p>:25."""

    def __init__(self, *, network: int = 25, mtas: tuple[str, ...] = MTAS) -> None:
        self.network = network
        self.mtas = mtas
        self.dir = Path()
        self.listeners: list[Listener] = []
        self.processes: dict[str, subprocess.Popen] = {}
        self._logs: dict[str, IO[str]] = {}

    def __enter__(self) -> MtaLab:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> MtaLab:
        reasons = missing(self.mtas)
        if reasons:
            raise MtaUnavailable("; ".join(reasons))
        users_ensure()
        self.listeners = [
            Listener(mta, policy, f"127.{self.network}.{number}.{index}")
            for number, mta in enumerate(self.mtas, start=1)
            for index, policy in enumerate(policies_of(mta), start=1)
        ]
        busy = [x.ip for x in self.listeners if _listening(x.ip)]
        if busy:
            raise MtaUnavailable(f"port {PORT} already taken (another lab still running?): {busy}")
        self.dir = Path(tempfile.mkdtemp(prefix="outreach-mta-"))
        self.dir.chmod(0o755)  # the MTAs' unprivileged users read their config here
        self._tls_make()
        try:
            for mta in self.mtas:
                listeners = [x for x in self.listeners if x.mta == mta]
                self.processes[mta] = getattr(self, f"_start_{mta}")(listeners)
            self._wait_listening()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for mta, process in self.processes.items():
            self._daemon_stop(mta)
            if process.poll() is None:
                # Our own child's process group: the MTA's master and its workers.
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(5)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(5)
            self._log_close(mta)
        self.processes = {}
        if self.dir.name:
            shutil.rmtree(self.dir, ignore_errors=True)

    def _daemon_stop(self, mta: str) -> None:
        """Stop a master that left our process group (Postfix's calls setsid)."""
        pid_file = self.dir / mta / PID_FILES.get(mta, "-")
        with contextlib.suppress(OSError, ValueError):
            pid = int(pid_file.read_text().split()[0])
            os.kill(pid, signal.SIGTERM)
            for _ in range(100):
                os.kill(pid, 0)  # raises once it is gone
                time.sleep(0.1)
            os.kill(pid, signal.SIGKILL)

    def lab_map(self) -> dict[str, str]:
        """A LAB_HOST_MAP for the product: each listener is its own target, on port 25."""
        return {x.ip: f"{x.ip}:{x.port}" for x in self.listeners}

    def listener(self, mta: str, policy: str) -> Listener:
        return next(x for x in self.listeners if (x.mta, x.policy) == (mta, policy))

    def log(self, mta: str) -> str:
        """What the MTA logged so far (for diagnosing a failed test)."""
        return "".join(p.read_text(errors="replace") for p in sorted(self.dir.glob(f"{mta}/log*")))

    # --- shared ---------------------------------------------------------------

    def _tls_make(self) -> None:
        self.cert, self.key = self.dir / "cert.pem", self.dir / "key.pem"
        _run(
            [
                "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                "-subj", "/CN=mta.lab.test", "-keyout", str(self.key), "-out", str(self.cert),
            ]
        )  # fmt: skip
        self.key.chmod(0o644)  # a throwaway key; the MTAs read it after dropping root

    def _spawn(self, mta: str, command: list[str], binds: dict[str, Path]) -> subprocess.Popen:
        """Run ``command`` in a mount namespace whose resolver is loopback only."""
        resolv = self.dir / "resolv.conf"
        resolv.write_text("nameserver 127.0.0.1\noptions attempts:1 timeout:1\n")
        mounts = {"/etc/resolv.conf": resolv, **binds}
        script = " && ".join(f"mount --bind {src} {dst}" for dst, src in mounts.items())
        log = self._logs[mta] = (self.dir / mta / "log.stderr").open("w")
        isolated = ["unshare", "--mount", "--propagation", "private"]
        return subprocess.Popen(  # noqa: S603
            [*isolated, "sh", "-c", f'{script} && exec "$@"', "sh", *command],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def _log_close(self, mta: str) -> None:
        log = self._logs.pop(mta, None)
        if log:
            log.close()

    def _wait_listening(self, timeout: float = 60) -> None:
        """Wait until every listener answers (a banner, or any reply: the tarpits only accept).

        Waiting for the first words also starts each Postfix smtpd, so the probe
        does not pay for process start-up on a busy machine.
        """
        pending = set(self.listeners)
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            for mta, process in self.processes.items():
                if process.poll() is not None:
                    raise MtaUnavailable(f"{mta} exited at start-up:\n{self.log(mta)[-3000:]}")
            pending = {x for x in pending if not _listening(x.ip, greets=x.policy != "tarpit")}
            time.sleep(0.1)
        if pending:
            raise MtaUnavailable(f"not ready after {timeout:g} s: {sorted(x.ip for x in pending)}")

    def _folder(self, mta: str) -> Path:
        folder = self.dir / mta
        folder.mkdir()
        return folder

    # --- Postfix ----------------------------------------------------------------

    def _start_postfix(self, listeners: list[Listener]) -> subprocess.Popen:
        folder = self._folder("postfix")
        (folder / "main.cf").write_text(postfix_main_cf(folder, listeners, self.cert, self.key))
        (folder / "master.cf").write_text(postfix_master_cf(listeners))
        (folder / "routing").write_text("/%/ OK\n")
        # cidr tables for the policies that answer every client alike.
        (folder / "everyone").write_text("0.0.0.0/0 reject\n")
        (folder / "grey").write_text("0.0.0.0/0 450 4.7.1 Greylisted, please try again later\n")
        (folder / "auth").write_text("0.0.0.0/0 530 5.7.0 Authentication required\n")
        (folder / "busy").write_text("0.0.0.0/0 421 4.7.0 Too busy, try again later\n")
        for name in ("queue", "data"):
            (folder / name).mkdir()
        shutil.chown(folder / "data", "postfix")
        return self._spawn("postfix", ["/usr/sbin/postfix", "-c", str(folder), "start-fg"], {})

    # --- Exim -------------------------------------------------------------------

    def _start_exim(self, listeners: list[Listener]) -> subprocess.Popen:
        folder = self._folder("exim")
        (folder / "spool").mkdir()
        for path in (folder, folder / "spool"):
            shutil.chown(path, "Debian-exim", "Debian-exim")
        conf = folder / "exim.conf"
        conf.write_text(exim_conf(folder, listeners, self.cert, self.key))
        conf.chmod(0o644)
        return self._spawn("exim", [str(binaries()["exim"]), "-C", str(conf), "-bdf"], {})

    # --- OpenSMTPD ---------------------------------------------------------------

    def _start_opensmtpd(self, listeners: list[Listener]) -> subprocess.Popen:
        folder = self._folder("opensmtpd")
        conf = folder / "smtpd.conf"
        key = folder / "key.pem"  # smtpd wants a key only root can read
        shutil.copy(self.key, key)
        key.chmod(0o600)
        conf.write_text(opensmtpd_conf(folder, listeners, self.cert, key))
        # A filter that registers for connect events and never answers them.
        (folder / "tarpit.sh").write_text(
            '#!/bin/sh\nwhile read -r line; do\n  if [ "$line" = "config|ready" ]; then\n'
            '    echo "register|filter|smtp-in|connect"; echo "register|ready"\n  fi\ndone\n'
        )
        # Its compiled-in spool, chroot and control socket, made private.
        private = {
            "/var/spool/smtpd": folder / "spool",
            "/var/lib/opensmtpd/empty": folder / "empty",
            "/run": folder / "run",
        }
        for mountpoint, source in private.items():
            Path(mountpoint).mkdir(parents=True, exist_ok=True)
            source.mkdir(mode=0o711)
        smtpd = str(binaries()["opensmtpd"])
        # -d: foreground, logging to stderr; -P: never start the mta (relay) or mda (local).
        return self._spawn(
            "opensmtpd", [smtpd, "-d", "-f", str(conf), "-P", "mta", "-P", "mda"], private
        )

    def exim_route(self, address: str, policy: str) -> str:
        """Where Exim would really send a recipient (``exim -bt``): the truth, not a guess."""
        ip = self.listener("exim", policy).ip
        conf = str(self.dir / "exim" / "exim.conf")
        result = subprocess.run(  # noqa: S603
            [str(binaries()["exim"]), "-C", conf, "-d-all+route", "-oMi", ip, "-bt", address],
            capture_output=True,
            text=True,
            check=False,
        )
        return result.stdout + result.stderr


def postfix_main_cf(folder: Path, listeners: list[Listener], cert: Path, key: Path) -> str:
    return f"""\
compatibility_level = 3.6
queue_directory = {folder}/queue
data_directory = {folder}/data
maillog_file = /dev/stdout
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix.mta.lab.test
mydomain = mta.lab.test
myorigin = $myhostname
mydestination = $myhostname, localhost
# master.cf binds each listener to its address; those addresses are not
# configured on an interface (all of 127/8 routes to lo), so they are named
# here for what they are to Postfix: its own addresses, as [ip] literals too.
inet_interfaces = loopback-only
proxy_interfaces = {", ".join(x.ip for x in listeners)}
inet_protocols = ipv4
# Nobody is trusted, the probe's 127.0.0.1 least of all.
mynetworks = 192.0.2.1/32
# Nothing is ever delivered: every transport discards.
default_transport = discard:
relay_transport = discard:
local_transport = discard:
virtual_transport = discard:
# No DNS: no reverse lookups, no MX lookups.
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
alias_maps =
alias_database =
local_recipient_maps = inline:{{postmaster=postmaster}}
biff = no
smtpd_banner = $myhostname ESMTP Postfix
smtpd_tls_cert_file = {cert}
smtpd_tls_key_file = {key}
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions =
# The AUTH listener: SASL is offered (Cyrus, no users), nothing relays without it.
cyrus_sasl_config_path = {folder}
smtpd_sasl_path = smtpd
auth_relay_restrictions = permit_sasl_authenticated,
    check_client_access cidr:{folder}/auth, reject
postscreen_access_list = cidr:{folder}/everyone
postscreen_denylist_action = drop
postscreen_cache_map = btree:$data_directory/postscreen_cache
"""


def postfix_master_cf(listeners: list[Listener]) -> str:
    by = {x.policy: x for x in listeners}
    options = {
        # The classic open relay: "my network" is the whole internet.
        "open": "-o mynetworks=0.0.0.0/0",
        "closed": "",
        "auth": (
            "-o smtpd_sasl_auth_enable=yes -o smtpd_relay_restrictions=$auth_relay_restrictions"
        ),
        "starttls": "-o smtpd_tls_security_level=encrypt -o mynetworks=0.0.0.0/0",
        "routing": (
            "-o smtpd_relay_restrictions=check_recipient_access,regexp:$config_directory/routing,"
            "reject_unauth_destination"
        ),
        "greylist": (
            "-o smtpd_relay_restrictions=check_client_access,cidr:$config_directory/grey,"
            "reject_unauth_destination"
        ),
        # Client restrictions evaluated at RCPT (smtpd_delay_reject=yes, the default).
        "deny_client": (
            "-o smtpd_client_restrictions=check_client_access,cidr:$config_directory/everyone"
        ),
        "refuse_temp": (
            "-o smtpd_delay_reject=no"
            " -o smtpd_client_restrictions=check_client_access,cidr:$config_directory/busy"
        ),
        "tarpit": "-o smtpd_delay_reject=no -o smtpd_client_restrictions=sleep,60",
    }
    lines = [
        f"{x.ip}:smtp inet n - n - - smtpd -o syslog_name=postfix/{x.policy} {options[x.policy]}"
        for x in listeners
        if x.policy != "refuse"
    ]
    # postscreen's deny list answers 521 and drops the connection.
    lines.append(f"{by['refuse'].ip}:smtp inet n - n - 1 postscreen")
    lines += [
        "smtpd pass - - n - - smtpd",
        "cleanup unix n - n - 0 cleanup",
        "qmgr unix n - n 300 1 qmgr",
        "tlsmgr unix - - n 1000? 1 tlsmgr",
        "rewrite unix - - n - - trivial-rewrite",
        "bounce unix - - n - 0 bounce",
        "defer unix - - n - 0 bounce",
        "trace unix - - n - 0 bounce",
        "verify unix - - n - 1 verify",
        "flush unix n - n 1000? 0 flush",
        "proxymap unix - - n - - proxymap",
        "anvil unix - - n - 1 anvil",
        "postlog unix-dgram n - n - 1 postlogd",
        # The only delivery agents: discard, and error for what qmgr defers.
        "discard unix - - n - - discard",
        "error unix - - n - - error",
        "retry unix - - n - - error",
    ]
    return "\n".join(lines) + "\n"


def exim_conf(folder: Path, listeners: list[Listener], cert: Path, key: Path) -> str:
    """One Exim for all policies: the ACLs tell the listeners apart by $received_ip_address."""
    ip = {x.policy: x.ip for x in listeners}

    def on(*policies: str) -> str:
        tests = "".join(f"{{eq{{$received_ip_address}}{{{ip[p]}}}}}" for p in policies)
        return f"condition = ${{if or{{{tests}}}}}"

    return f"""\
primary_hostname = exim.mta.lab.test
qualify_domain = exim.mta.lab.test
local_interfaces = <; {" ; ".join(x.ip for x in listeners)}
daemon_smtp_ports = {PORT}
exim_user = Debian-exim
exim_group = Debian-exim
spool_directory = {folder}/spool
log_file_path = {folder}/log.%s
pid_file_path = {folder}/exim.pid
# No DNS, no ident: no reverse lookups of clients.
host_lookup =
rfc1413_hosts =
allow_domain_literals = true
domainlist local_domains = @ : @[] : localhost
# Nothing is delivered: messages would only be queued, and no queue runner runs.
queue_only = true
smtp_banner = $smtp_active_hostname ESMTP Exim $version_number
tls_advertise_hosts = *
tls_certificate = {cert}
tls_privatekey = {key}
auth_advertise_hosts = <; {ip["auth"]}
acl_smtp_connect = acl_connect
acl_smtp_mail = acl_mail
acl_smtp_rcpt = acl_rcpt

begin acl

acl_connect:
  drop    {on("refuse")}
          message = 554 5.7.1 Access denied for $sender_host_address
  defer   {on("refuse_temp")}
          message = 421 4.7.0 Too busy, try again later
  accept  {on("tarpit")}
          delay = 60s
  accept

acl_mail:
  deny    {on("starttls")}
          !encrypted = *
          message = 530 5.7.0 Must issue a STARTTLS command first
  accept

acl_rcpt:
  accept  {on("open", "starttls")}
  deny    {on("deny_client")}
          message = 550 5.7.1 Access denied for $sender_host_address
  accept  authenticated = *
  deny    {on("auth")}
          message = 530 5.7.0 Authentication required
  defer   {on("greylist")}
          message = 451 4.7.1 Greylisted, please try again later
  accept  domains = +local_domains
          verify = recipient
  deny    message = 550 5.7.1 Relaying not permitted

begin routers

# The classic percent hack, done late: user%domain@[this host] passes the relay
# ACL as a local address, then becomes user@domain here and goes out by "relay".
percent_route:
  driver = redirect
  domains = +local_domains
  local_parts = ^.*%.*
  {on("routing")}
  data = ${{sg{{$local_part}}{{%}}{{@}}}}

local_user:
  driver = redirect
  domains = +local_domains
  local_parts = postmaster
  data = :blackhole:

# Stands for relaying to the internet: here it throws the message away.
relay:
  driver = redirect
  domains = ! +local_domains
  data = :blackhole:

begin authenticators

plain:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = false
"""


OPENSMTPD_NAME = "opensmtpd.mta.lab.test"


def opensmtpd_conf(folder: Path, listeners: list[Listener], cert: Path, key: Path) -> str:
    """One smtpd for all policies: each listener tags its sessions, match rules use the tag."""
    options = {
        "auth": "tls pki lab auth",
        "starttls": "tls-require pki lab",
        "greylist": 'filter "grey"',
        "refuse": 'filter "refuse"',
        "refuse_temp": 'filter "busy"',
        "deny_client": 'filter "deny"',
        "tarpit": 'filter "tarpit"',
    }
    ip_routing = next(x.ip for x in listeners if x.policy == "routing")
    listen = "\n".join(
        f"listen on {x.ip} port {PORT} hostname {OPENSMTPD_NAME} {options.get(x.policy, '')}"
        f' tag "{x.policy}"'
        for x in listeners
    )
    return f"""\
pki lab cert "{cert}"
pki lab key "{key}"
table everyone {{ "0.0.0.0/0" }}
table catchall {{ "@" = "nobody" }}
table ownnames {{ "{OPENSMTPD_NAME}", "[{ip_routing}]" }}

filter "refuse" phase connect match src <everyone> disconnect "554 5.7.1 Access denied"
filter "busy" phase connect match src <everyone> disconnect "421 4.7.0 Too busy, try again later"
filter "deny" phase mail-from match src <everyone> reject "550 5.7.1 Access denied for your address"
filter "grey" phase rcpt-to match src <everyone> reject "451 4.7.1 Greylisted, try again later"
filter "tarpit" proc-exec "/bin/sh {folder}/tarpit.sh"

{listen}

# Relaying goes to a closed loopback port, and the mta that would do it is paused.
action "relay" relay host "smtp://{NOWHERE}"
# Local mail would go to a folder here, and the mda that would do it is paused.
action "local" maildir "{folder}/maildir"
action "catchall" maildir "{folder}/maildir" virtual <catchall>

match from any tag "open" for any action "relay"
match from any tag "starttls" for any action "relay"
match auth from any tag "auth" for any action "relay"
match from any tag "routing" for domain <ownnames> action "catchall"
match from any for local action "local"
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run Postfix, Exim and OpenSMTPD on 127.x.")
    parser.add_argument("--network", type=int, default=25, help="the x in 127.x.y.z")
    parser.add_argument("--mtas", default=",".join(MTAS))
    args = parser.parse_args(argv)
    with MtaLab(network=args.network, mtas=tuple(args.mtas.split(","))) as lab:
        for x in lab.listeners:
            print(f"{x.ip:>15}:{x.port}  {x.mta:<10} {x.policy:<12} {x.truth}")
        print("Ctrl-C stops them.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
