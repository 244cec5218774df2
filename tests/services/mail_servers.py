"""Real mail servers for the e-mail-in tests: Debian's dovecot as the IMAP server (a process
of its own, on a free loopback port, with a generated configuration in a temporary
directory) and aiosmtpd as the SMTP sink that receives what the portal sends."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from imapclient import IMAPClient

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
IMAP_USER, IMAP_PASSWORD = "portal", "imap-test-password"

DOVECOT_CONF = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
first_valid_uid = {uid}
last_valid_uid = {uid}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class ImapServer:
    host: str
    port: int
    user: str
    password: str

    def settings(self) -> dict:
        """The mailbox as `settings.MAIL_IN_MAILBOXES` describes one."""
        return {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "ssl": False,
        }

    def client(self) -> IMAPClient:
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=10)
        client.login(self.user, self.password)
        return client

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        """Deliver `raw` into `folder`, unseen, as a mail server would."""
        with self.client() as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            client.append(folder, raw)

    def unseen(self, folder: str = "INBOX") -> list[int]:
        with self.client() as client:
            client.select_folder(folder, readonly=True)
            return client.search(["UNSEEN"])

    def empty(self) -> None:
        with self.client() as client:
            for _flags, _delimiter, name in client.list_folders():
                client.select_folder(name)
                uids = client.search(["ALL"])
                if uids:
                    client.delete_messages(uids)
                    client.expunge()


def _mail_user() -> pwd.struct_passwd:
    """Dovecot never reads mail as root: as root the tests lend it the dovecot user."""
    if os.getuid() != 0:
        return pwd.getpwuid(os.getuid())
    return pwd.getpwnam("dovecot")


@pytest.fixture(scope="session")
def imap_server():
    if not Path(DOVECOT).exists():
        pytest.skip("dovecot is not installed (Debian: apt-get install dovecot-imapd)")
    # Not under pytest's temporary directory: that one is private to the user running the
    # tests, and dovecot's own processes (another user, when the tests run as root) must
    # reach their configuration and mail.
    root = Path(tempfile.mkdtemp(prefix="esm-dovecot-"))
    root.chmod(0o755)
    account = _mail_user()
    port = free_port()
    (root / "passwd").write_text(f"{IMAP_USER}:{{PLAIN}}{IMAP_PASSWORD}::::::\n")
    conf = root / "dovecot.conf"
    conf.write_text(
        DOVECOT_CONF.format(
            root=root,
            port=port,
            user=account.pw_name,
            group=grp.getgrgid(account.pw_gid).gr_name,
            uid=account.pw_uid,
            gid=account.pw_gid,
        )
    )
    for directory in ("mail", "home", "state"):
        (root / directory).mkdir()
    if os.getuid() == 0:
        for path in (root, root / "mail", root / "home"):
            os.chown(path, account.pw_uid, account.pw_gid)
    process = subprocess.Popen(  # noqa: S603 (a fixed binary and our own configuration)
        [DOVECOT, "-F", "-c", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    server = ImapServer("127.0.0.1", port, IMAP_USER, IMAP_PASSWORD)
    try:
        _wait_for(server, process, root)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(root, ignore_errors=True)


def _wait_for(server: ImapServer, process: subprocess.Popen, root: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read().decode(errors="replace") if process.stdout else ""
            log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
            raise RuntimeError(f"dovecot exited: {output}\n{log}")
        try:
            with server.client():
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("dovecot did not answer within 15 s")


@pytest.fixture
def mailbox(imap_server: ImapServer) -> ImapServer:
    """The IMAP server with every folder emptied: each test starts with no mail."""
    imap_server.empty()
    return imap_server


@dataclass
class SmtpSink:
    host: str
    port: int
    received: list[Message] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd calls it by this name
        message = message_from_bytes(envelope.original_content or envelope.content)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.received.append(message)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_sink(settings):
    """A real SMTP server on a free loopback port; the portal's mail goes there."""
    sink = SmtpSink("127.0.0.1", free_port())
    controller = Controller(sink, hostname=sink.host, port=sink.port)
    controller.start()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": sink.host, "port": sink.port, "timeout": 10},
        }
    }
    try:
        yield sink
    finally:
        controller.stop()
