#!/usr/bin/env bash
# Installs the Debian packages CityOps uses: Prometheus (with promtool) and
# Alertmanager, PostgreSQL when the image lacks it, Node.js for the PGlite
# TimescaleDB of the tests, and headless Chromium with a CJK font for the monthly
# report's PDF (`cityops report`). Needs root (CI runs as root); without root it only
# says what is missing.
set -euo pipefail
need=()
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || command -v alertmanager >/dev/null 2>&1 || need+=(prometheus-alertmanager)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
# Node.js runs PGlite+TimescaleDB (tools/pglite), the real TimescaleDB of the tests.
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
# Chromium prints the monthly report to PDF (and its tests screenshot it); the report
# is Chinese first, and without a CJK font every character renders as a box.
command -v chromium >/dev/null 2>&1 || need+=(chromium)
fc-list :lang=zh 2>/dev/null | grep -q . || need+=(fonts-wqy-microhei)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "cityops: missing Debian packages: ${need[*]} (run 'sudo apt-get install ${need[*]}'); continuing without them" >&2
  exit 0
fi
echo "cityops: installing Debian packages: ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null 2>&1 || {
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
}
