"""`cityops dashboards build [--lang en|zh] [--out DIR]`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from dashboards.i18n import LANGS


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "dashboards", help="Grafana dashboards as code (English and 简体中文)"
    )
    sub = parser.add_subparsers(dest="dashboards_command", metavar="ACTION", required=True)
    build = sub.add_parser(
        "build", help="write dashboards/generated/<lang>/<dashboard>.json from the definitions"
    )
    build.add_argument(
        "--lang", choices=LANGS, action="append", help="language (repeatable; default: all)"
    )
    build.add_argument(
        "--out", type=Path, default=None, help="output directory (default: dashboards/generated)"
    )
    build.set_defaults(handler=run_build)


def run_build(args: argparse.Namespace) -> int:
    from dashboards.build import GENERATED_DIR, write_all

    langs = tuple(args.lang) if args.lang else LANGS
    paths = write_all(args.out or GENERATED_DIR, langs)
    for path in paths:
        print(path)
    return 0
