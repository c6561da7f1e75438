"""The embedded Alertmanager: the Debian `prometheus-alertmanager` binary.

It listens on loopback only, keeps silences and the notification log under the
state directory (`--storage.path`), and runs without clustering
(`--cluster.listen-address=` empty). Alerts themselves live in Alertmanager's
memory: after a restart the notifier re-sends its firing set (sinks/notifier.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from cityops.stack.process import (
    ManagedProcess,
    StackError,
    check_config_with,
    find_binary,
    free_port,
    http_ok,
)

#: Debian names the server `prometheus-alertmanager`; upstream tarballs `alertmanager`.
BINARY_NAMES = ("prometheus-alertmanager", "alertmanager")

#: The routing configuration shipped with CityOps.
DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "alertmanager.yml"


def alertmanager_binary() -> str:
    """The path of the Alertmanager server, or a StackError saying how to install it."""
    return find_binary(
        BINARY_NAMES,
        "Alertmanager is not installed: run `sudo apt-get install prometheus-alertmanager` "
        "(`make system-deps` does it as root) or set CITYOPS_ALERTMANAGER_URL to an existing one",
    )


def check_config(config_path: Path) -> str:
    """Validate a configuration with `amtool check-config`; returns its output."""
    return check_config_with(
        "amtool", "prometheus-alertmanager", ["check-config"], "Alertmanager", config_path
    )


class EmbeddedAlertmanager:
    """One Alertmanager on 127.0.0.1:`port`; `stop()` then `start()` keeps its storage."""

    def __init__(
        self, state_dir: Path, config_path: Path = DEFAULT_CONFIG, port: int | None = None
    ) -> None:
        self.binary = alertmanager_binary()
        self.config_path = Path(config_path).resolve()
        self.port = port or free_port()
        self.storage_dir = (state_dir / "alertmanager").resolve()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = self._process(state_dir)

    @staticmethod
    def available() -> bool:
        """True when the Alertmanager binary is installed."""
        return any(shutil.which(name) for name in BINARY_NAMES)

    def _process(self, state_dir: Path) -> ManagedProcess:
        return ManagedProcess(
            name="alertmanager",
            argv=[
                self.binary,
                f"--config.file={self.config_path}",
                f"--storage.path={self.storage_dir}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                f"--web.external-url={self.url}",
                "--cluster.listen-address=",
                "--log.level=warn",
            ],
            log_path=state_dir / "logs" / "alertmanager.log",
        )

    def start(self, timeout: float = 30.0) -> EmbeddedAlertmanager:
        if not self.config_path.is_file():
            raise StackError(f"Alertmanager configuration not found: {self.config_path}")
        if self.process.poll() is None and self.process.popen is not None:
            return self  # already running
        self.storage_dir.mkdir(parents=True, exist_ok=True)
        if self.process.popen is not None:  # restarted: a fresh Popen, same port and storage
            self.process = ManagedProcess(
                name=self.process.name, argv=self.process.argv, log_path=self.process.log_path
            )
        self.process.start_ready(lambda: http_ok(f"{self.url}/-/ready"), "Alertmanager", timeout)
        return self

    def stop(self) -> None:
        self.process.stop()

    def running(self) -> bool:
        return self.process.popen is not None and self.process.poll() is None
