#!/usr/bin/env bash
# Debian packages voicebridge needs: the TTS engine (libespeak-ng1, espeak-ng),
# and for the tests the real SIP peers (sip-tester = SIPp, baresip) and sox.
set -euo pipefail
need=(espeak-ng libespeak-ng1)
if [ "${1:-}" = "--test" ]; then
  need+=(sip-tester baresip sox sqlite3)
fi
missing=()
for pkg in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
