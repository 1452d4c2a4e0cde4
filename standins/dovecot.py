"""A real Dovecot IMAP server on a loopback port with a throwaway configuration, for tests.

Not a fake: the IMAP connector is tested against the server municipalities' mail gateways
speak. The configuration lives in a temporary folder; Dovecot runs in the foreground as a
child process and is stopped with SIGTERM. Gotchas measured on Debian's dovecot 2.3 (as root):
``default_login_user`` and ``default_internal_user`` must be real users, ``first_valid_uid``
must admit the mail user, ``base_dir`` must be traversable by the login processes, and the
Maildir must be owned by the user the mail processes run as (here ``dovecot``).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"


class DovecotUnavailable(RuntimeError):
    """Dovecot is not installed or cannot run here; ``str()`` says why."""


@dataclass(frozen=True)
class DovecotServer:
    host: str
    port: int
    user: str
    password: str
    maildir: Path


def unavailable_reason() -> str | None:
    """Why a Dovecot cannot be started here, or ``None`` when it can."""
    if not Path(DOVECOT).exists():
        return f"dovecot is not installed ({DOVECOT} missing; apt-get install dovecot-imapd)"
    if os.geteuid() != 0:
        return "starting dovecot with a throwaway config needs root (it switches users)"
    try:
        pwd.getpwnam("dovecot")
    except KeyError:
        return "no 'dovecot' system user (install the dovecot-core package)"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _config(root: Path, port: int, uid: int, gid: int) -> str:
    return f"""\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = dovenull
default_internal_user = dovecot
first_valid_uid = {min(uid, 100)}
first_valid_gid = {min(gid, 100)}
mail_location = maildir:{root}/mail/%u/Maildir
mail_uid = {uid}
mail_gid = {gid}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Behandlet {{
    auto = no
  }}
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


@contextmanager
def running_dovecot(*, user: str = "robot@kommune.test", password: str = "hemmelig",
                    timeout: float = 10.0) -> Iterator[DovecotServer]:
    """Start Dovecot; yield where to reach it; stop it and remove everything afterwards."""
    reason = unavailable_reason()
    if reason:
        raise DovecotUnavailable(reason)
    account = pwd.getpwnam("dovecot")
    root = Path(tempfile.mkdtemp(prefix="casework-dovecot-"))
    os.chmod(root, 0o755)  # login processes (dovenull) must traverse base_dir
    for sub in ("run", "state"):
        (root / sub).mkdir(mode=0o755)
    maildir = root / "mail" / user / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    for dirpath, _dirs, _files in os.walk(root / "mail"):
        os.chown(dirpath, account.pw_uid, account.pw_gid)
    (root / "users").write_text(f"{user}:{{PLAIN}}{password}\n", encoding="utf-8")
    port = _free_port()
    config = root / "dovecot.conf"
    config.write_text(_config(root, port, account.pw_uid, account.pw_gid), encoding="utf-8")
    process = subprocess.Popen([DOVECOT, "-F", "-c", str(config)], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_for_port(port, process, root, timeout)
        yield DovecotServer(host="127.0.0.1", port=port, user=user, password=password,
                            maildir=maildir)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if process.stdout:
            process.stdout.close()
        shutil.rmtree(root, ignore_errors=True)


def _wait_for_port(port: int, process: subprocess.Popen[bytes], root: Path,
                   timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read().decode(errors="replace") if process.stdout else ""
            log = (root / "dovecot.log").read_text(errors="replace") \
                if (root / "dovecot.log").exists() else ""
            raise DovecotUnavailable(f"dovecot exited with {process.returncode}: "
                                     f"{(output + log).strip()[-800:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                if sock.recv(64).startswith(b"* OK"):
                    return
        except OSError:
            time.sleep(0.05)
    raise DovecotUnavailable(f"dovecot did not answer on 127.0.0.1:{port} within {timeout} s")
