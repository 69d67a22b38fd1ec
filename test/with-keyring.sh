#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with an unlocked gnome-keyring (a real Secret Service),
# using a throwaway XDG_DATA_HOME so the keyring files never touch the user's own.
# Usage: test/with-keyring.sh <command> [args...]
set -euo pipefail
if [ -n "${ENVELOPE_IN_KEYRING:-}" ]; then exec "$@"; fi
export XDG_DATA_HOME="$(mktemp -d)"
export ENVELOPE_IN_KEYRING=1
trap 'rm -rf "$XDG_DATA_HOME"' EXIT
dbus-run-session -- bash -c 'echo -n envelope-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1; exec "$@"' bash "$@"
