#!/usr/bin/env bash
# Load on skiff server (see server_load.py): bench/server_load.sh [WORKFLOWS] [STORED]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps" >/dev/null
"$root/scripts/build" >/dev/null
exec python3 "$root/bench/server_load.py" "$root/build/skiff" "$@"
