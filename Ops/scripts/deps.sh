#!/usr/bin/env bash
# Installs what building and testing Intake needs, only when missing (Debian; run as root or
# with sudo available). Sourced by Ops/scripts/demo and Ops/scripts/test.
# Usage: deps.sh build | test
set -euo pipefail
what=${1:-build}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else echo "need root for: $*" >&2; return 1; fi; }

apt_updated=0
apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ $apt_updated = 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
  echo "installing: ${missing[*]}" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

command -v swift >/dev/null || { echo "swift is not on the PATH: install the Swift 6.3 toolchain first" >&2; exit 1; }
apt_install libssl-dev pkg-config

if [ "$what" = test ]; then
  apt_install python3 python3-pip prometheus systemd openssl curl chromium chromium-driver fonts-noto-cjk
  pip_install() {
    local missing=()
    for m in "$@"; do python3 -c "import ${m%%=*}" 2>/dev/null || missing+=("$m"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "pip installing: ${missing[*]}" >&2
    python3 -m pip install -q "${missing[@]}" 2>/dev/null ||
      python3 -m pip install -q --break-system-packages "${missing[@]}"
  }
  # wechatpy (with xmltodict and cryptography): the independent WeChat implementation the
  # WeChatChannel interop test checks our encryption and replies against.
  pip_install websockets pytest selenium wechatpy xmltodict cryptography
fi
