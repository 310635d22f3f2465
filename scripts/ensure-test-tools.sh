#!/usr/bin/env bash
# Installs the command-line tools the tests call that a fresh machine lacks, with Debian's packages:
# pdftotext (poppler-utils) reads the text back out of rendered invoices; chromium is the headless
# browser the ops page test drives (playwright-core, which never downloads a browser of its own);
# pgbouncer runs in front of the services in test/e2e/pgbouncer.spec.ts (transaction pooling, as
# docker-compose.yml deploys them).
# Idempotent: a tool that is already there is left alone. Needs root (or sudo) only when something is missing.
set -euo pipefail

# Debian installs pgbouncer in /usr/sbin, which a user's PATH may lack; the test looks there too.
has_pgbouncer() { command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ]; }

missing=()
command -v pdftotext >/dev/null || missing+=(poppler-utils)
# The test launches this path (CHROMIUM_PATH overrides it, for a browser installed elsewhere).
chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
[ -x "$chromium" ] || missing+=(chromium)
has_pgbouncer || missing+=(pgbouncer)

if [ ${#missing[@]} -eq 0 ]; then
  echo "test tools: pdftotext, chromium and pgbouncer present"
  exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then as_root=(sudo -n); else
    echo "test tools: missing ${missing[*]} and not root; install them with apt-get" >&2
    exit 1
  fi
fi
if ! command -v apt-get >/dev/null; then
  echo "test tools: missing ${missing[*]} and no apt-get here; install them with this system's packages" >&2
  exit 1
fi

echo "test tools: installing ${missing[*]}"
# A stale or absent package list makes the install fail; an update that fails (offline mirror) is tolerated.
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq || echo "test tools: apt-get update failed, trying the install anyway" >&2
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
command -v pdftotext >/dev/null
[ -x "$chromium" ] || { echo "test tools: chromium installed but $chromium is missing; set CHROMIUM_PATH" >&2; exit 1; }
has_pgbouncer
# The package starts a system-wide pgbouncer on 6432 where an init system runs; the test starts its own
# on a free port, so the system's is stopped and kept from starting at boot.
if [[ " ${missing[*]} " == *" pgbouncer "* ]]; then
  "${as_root[@]}" service pgbouncer stop >/dev/null 2>&1 || true
  "${as_root[@]}" update-rc.d pgbouncer disable >/dev/null 2>&1 || true
  "${as_root[@]}" systemctl disable --now pgbouncer >/dev/null 2>&1 || true
fi
echo "test tools: installed ${missing[*]}"
