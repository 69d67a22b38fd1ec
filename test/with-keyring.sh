#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with an unlocked gnome-keyring (a real Secret Service),
# using a throwaway XDG_DATA_HOME (and XDG_RUNTIME_DIR) so the keyring files never touch the user's own.
# Usage: test/with-keyring.sh <command> [args...]
set -euo pipefail
if [ -n "${ENVELOPE_IN_KEYRING:-}" ]; then exec "$@"; fi
export XDG_DATA_HOME="$(mktemp -d)"
# gnome-keyring keeps its control socket under XDG_RUNTIME_DIR: a private one, so that two of these sessions at
# once (parallel test runs) never reach each other's daemon, nor a desktop session's
export XDG_RUNTIME_DIR="$(mktemp -d)"
chmod 700 "$XDG_RUNTIME_DIR"
export ENVELOPE_IN_KEYRING=1
trap 'rm -rf "$XDG_DATA_HOME" "$XDG_RUNTIME_DIR"' EXIT
dbus-run-session -- bash -c 'echo -n envelope-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1; exec "$@"' bash "$@"
