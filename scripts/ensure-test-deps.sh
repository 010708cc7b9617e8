#!/usr/bin/env bash
# Runs before `npm test`: the suites use real parts, so make sure they are on this machine. The
# pinned livekit-server is built into the project's cache; Debian's Chromium, Firefox ESR and Xvfb
# (browser suite: Firefox shares its screen headed on a virtual display), a colour emoji font (the
# reactions in the screenshots) and redis-server (multi-node SFU suite) are installed with apt-get
# when we are root on Debian, and otherwise named in a clear error.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Go lives in /usr/local/go/bin on a fresh machine even when PATH lacks it.
if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
  export PATH="/usr/local/go/bin:$PATH"
fi
bash "$ROOT/scripts/ensure-livekit.sh"

missing=()
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
[[ -x /usr/bin/firefox-esr ]] || missing+=(firefox-esr)
[[ -x /usr/bin/Xvfb ]] || missing+=(xvfb)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
# Reactions are emoji: without a colour emoji font the screenshots show empty boxes.
[[ -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ]] || missing+=(fonts-noto-color-emoji)
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${missing[*]} from Debian (needed by the browser and SFU suites)..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" fonts-dejavu-core >/dev/null
  exit 0
fi
echo "error: the tests need Debian's ${missing[*]}: run 'sudo apt-get install ${missing[*]}' first." >&2
exit 1
