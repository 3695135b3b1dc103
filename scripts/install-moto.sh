#!/usr/bin/env bash
# Installs the Python tools the tests use into .venv/ at the repository root:
# the AWS emulator (moto in server mode) and cfn-lint for the synthesized
# templates. Safe to run again: it does nothing
# when the pinned version is already there, and concurrent runs (parallel
# jest workers on a fresh machine) wait for the first one to finish.
#
# Usage: scripts/install-moto.sh        (MOTO_VERSION=x.y.z to try another)
set -euo pipefail

MOTO_VERSION="${MOTO_VERSION:-5.2.5}"
CFN_LINT_VERSION="${CFN_LINT_VERSION:-1.58.0}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
marker="$venv/.moto-$MOTO_VERSION-cfn-lint-$CFN_LINT_VERSION"

installed() {
  [ -x "$venv/bin/moto_server" ] && [ -x "$venv/bin/cfn-lint" ] && [ -f "$marker" ]
}

if installed; then
  exit 0
fi

if ! command -v python3 >/dev/null 2>&1; then
  echo "install-moto: python3 is required to run the AWS emulator tests." >&2
  exit 1
fi

mkdir -p "$venv"
exec 9>"$venv/.install.lock"
if command -v flock >/dev/null 2>&1; then
  flock 9
fi

# Another run may have finished while this one waited for the lock.
if installed; then
  exit 0
fi

started=$(date +%s)
echo "install-moto: installing moto[server]==$MOTO_VERSION and cfn-lint==$CFN_LINT_VERSION into $venv" >&2
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  "moto[server]==$MOTO_VERSION" "cfn-lint==$CFN_LINT_VERSION"
rm -f "$venv"/.moto-*
touch "$marker"
echo "install-moto: done in $(( $(date +%s) - started )) s" >&2
