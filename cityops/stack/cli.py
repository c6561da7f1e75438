"""`cityops up`: start the embedded stack and the whole pipeline."""

from __future__ import annotations

import argparse
import logging
import time

from cityops.base.settings import STACK_ENV_FILE, Settings, load_settings
from cityops.stack.process import StackError
from cityops.stack.up import (
    ignoring_stop_signals,
    pick_metrics_ports,
    start_pipeline,
    start_services,
    stop_signals,
    wait_for,
    with_ack_service,
    write_stack_env,
)

log = logging.getLogger("cityops.up")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    up = sub.add_parser(
        "up",
        help="start broker, PostgreSQL, worker, sink, notifier and simulator; Ctrl-C stops all",
    )
    up.add_argument("--profile", help="city profile (default: CITYOPS_PROFILE or small)")
    up.add_argument("--duration", type=float, help="stop after this many seconds")
    up.add_argument(
        "--rate",
        type=float,
        default=200.0,
        help="simulator events/s (event time runs faster than the clock); 0 = real time",
    )
    up.add_argument("--no-simulator", action="store_true", help="start no simulator")
    up.add_argument(
        "--workers",
        type=int,
        default=1,
        choices=range(1, 65),
        metavar="N",
        help="worker processes sharing the partitions (at most CITYOPS_TOPIC_PARTITIONS help)",
    )
    up.set_defaults(handler=_up)


def _up(args: argparse.Namespace) -> int:
    # A stack.env left by a run that was killed names services that are gone:
    # remove it before reading the settings, so they do not look external.
    STACK_ENV_FILE.unlink(missing_ok=True)
    settings = load_settings(_env_file=None)
    if args.profile:
        settings = load_settings(_env_file=None, profile=args.profile)
    settings = with_ack_service(pick_metrics_ports(settings))
    started = time.monotonic()
    with stop_signals():
        try:
            settings, stack = start_services(settings, workers=args.workers)
        except StackError as exc:
            print(f"cityops up: {exc}")
            return 1
        try:
            write_stack_env(settings)
            sim_args = None if args.no_simulator else ["--rate", str(args.rate)]
            start_pipeline(settings, stack, simulate_args=sim_args, workers=args.workers)
            for name, url in stack.endpoints.items():
                log.info("%s: %s", name, url)
            log.info("pipeline started in %.1f s; Ctrl-C stops it", time.monotonic() - started)
            from cityops.stack.progress import ProgressView

            view = ProgressView(settings)
            try:
                wait_for(stack, args.duration, on_tick=view.tick)
            finally:
                view.close()
            _print_status(settings)
        except KeyboardInterrupt:
            log.info("stopping ...")
        except StackError as exc:
            print(f"cityops up: {exc}")
            return 1
        finally:
            # A second Ctrl-C must not abandon the children half-stopped.
            with ignoring_stop_signals():
                stack.stop()
                STACK_ENV_FILE.unlink(missing_ok=True)
            log.info("stopped; no process left behind")
    return 0


def _print_status(settings: Settings) -> None:
    """One frame of `cityops status` before stopping: what the run achieved."""
    import asyncio

    from cityops.status.cli import run_status
    from cityops.status.collect import StatusSources

    sources = StatusSources.from_settings(settings, metrics_urls=[], use_database=True)
    try:
        asyncio.run(run_status(sources, once=True, interval=1.0))
    except Exception as exc:  # the summary is a courtesy; never fail the run on it
        log.warning("status summary unavailable: %s", exc)
