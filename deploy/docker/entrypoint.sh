#!/bin/sh
# Runs one service by name; anything else runs as given (e.g. `sh`).
# `exec` makes Node PID 1, so it receives SIGTERM and drains before exiting.
set -eu
case "${1:-}" in
  alias|account|transaction|balance|gateway)
    exec node "services/$1/src/main.ts" ;;
  balance-rebuild)
    shift
    exec node services/balance/src/rebuild.ts "$@" ;;
  *)
    exec "$@" ;;
esac
