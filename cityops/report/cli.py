"""`cityops report --month YYYY-MM --lang zh|en [--district D] [--out PATH]`."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from cityops.base.settings import get_settings

MONTH_FORMAT = "YYYY-MM"


def parse_month(text: str) -> date:
    """2026-11 -> date(2026, 11, 1); anything else says the format."""
    try:
        parsed = datetime.strptime(text, "%Y-%m")
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected {MONTH_FORMAT} (for example 2026-11), got {text!r}"
        ) from None
    if len(text) != 7:  # strptime also takes 2026-1
        raise argparse.ArgumentTypeError(
            f"expected {MONTH_FORMAT} (for example 2026-11), got {text!r}"
        )
    return parsed.date()


def default_out(month: date, lang: str, district: str | None) -> Path:
    scope = f"-{district}" if district else ""
    return Path(f"cityops-report-{month:%Y-%m}-{lang}{scope}.html")


def _database_url() -> str:
    return get_settings().require_database_url("to report on", read_only=True)


def _cmd_report(args: argparse.Namespace) -> int:
    import psycopg

    from cityops.report import pdf
    from cityops.report.queries import fetch
    from cityops.report.render import MAX_INCIDENTS, render

    scope = f" in district {args.district!r}" if args.district else ""
    try:
        with psycopg.connect(_database_url()) as conn:
            data = fetch(conn, args.month, args.district, incidents=MAX_INCIDENTS)
    except psycopg.Error as exc:
        print(f"cityops report: cannot read the KPI views: {exc}".rstrip(), file=sys.stderr)
        return 1
    if data.empty:
        print(
            f"cityops report: no data for {args.month:%Y-%m}{scope}: the KPI views hold no "
            "roll-ups or alerts for that month (UTC); choose another --month or --district",
            file=sys.stderr,
        )
        return 1
    out: Path = args.out or default_out(args.month, args.lang, args.district)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(data, args.lang, datetime.now(UTC).date()), encoding="utf-8")
    print(f"report: {out}")
    browser = pdf.find_chromium()
    if browser is None:
        print("no PDF: chromium is not installed (scripts/install-system-deps.sh installs it)")
        return 0
    target = out.with_suffix(".pdf")
    try:
        pdf.to_pdf(browser, out, target)
    except pdf.ConverterError as exc:
        print(f"cityops report: the HTML is written, the PDF failed: {exc}", file=sys.stderr)
        return 1
    print(f"pdf: {target}")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = subparsers.add_parser(
        "report",
        help="the monthly operations report: KPIs against targets, charts, incidents (HTML, PDF)",
    )
    report.add_argument(
        "--month", required=True, type=parse_month, metavar=MONTH_FORMAT, help="UTC month"
    )
    report.add_argument("--lang", choices=("zh", "en"), default="zh", help="language (zh)")
    report.add_argument("--district", help="one district (default: the whole city)")
    report.add_argument(
        "--out",
        type=Path,
        help="HTML path (default cityops-report-YYYY-MM-LANG.html); PDF beside it",
    )
    report.set_defaults(handler=_cmd_report)
