#!/usr/bin/env bash
# Installs the pinned livekit-server into the project's git-ignored cache (.cache/livekit/bin/server)
# unless the right version is already there. Run by `npm run livekit:install`, by `npm run sfu` and
# `npm start` before they need the server, and by CI before the tests.
#
# The version is pinned because the SFU is part of what we test: a different server version is a
# different system. Building from the Go module proxy keeps the install reproducible (go.sum checks).
set -euo pipefail

LIVEKIT_VERSION="1.13.5"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN_DIR="$ROOT/.cache/livekit/bin"
BIN="$BIN_DIR/server"

installed_version() {
  # `server --version` prints "livekit-server version 1.13.5".
  "$BIN" --version 2>/dev/null | awk '{print $NF}'
}

if [[ -x "$BIN" && "$(installed_version)" == "$LIVEKIT_VERSION" ]]; then
  echo "livekit-server v$LIVEKIT_VERSION: $BIN"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  cat >&2 <<EOF
error: livekit-server v$LIVEKIT_VERSION is not installed and Go is not available to build it.

Either install Go 1.26 or newer (https://go.dev/dl/, or your package manager) and run
  npm run livekit:install
which builds the server into .cache/livekit/bin (about 4 minutes, once),

or use a LiveKit server you already run, by setting
  LIVEKIT_URL=wss://your-livekit-host  LIVEKIT_API_KEY=...  LIVEKIT_API_SECRET=...
before \`npm start\` (the SFU tests need the pinned binary and cannot use an external server).
EOF
  exit 1
fi

if [[ -x "$BIN" ]]; then
  echo "found livekit-server $(installed_version || echo unknown) at $BIN, replacing it with v$LIVEKIT_VERSION"
  # go install refuses to overwrite a file it did not build.
  rm -f "$BIN"
fi
echo "building livekit-server v$LIVEKIT_VERSION with $(go version) into $BIN_DIR (takes a few minutes once)..."
mkdir -p "$BIN_DIR"
GOBIN="$BIN_DIR" go install "github.com/livekit/livekit-server/cmd/server@v$LIVEKIT_VERSION"

if [[ "$(installed_version)" != "$LIVEKIT_VERSION" ]]; then
  echo "error: built $BIN but it reports version '$(installed_version)', expected $LIVEKIT_VERSION" >&2
  exit 1
fi
echo "livekit-server v$LIVEKIT_VERSION: $BIN"
