#!/usr/bin/env bash
# ensure-deps.sh: make sure the Debian packages the build needs are installed.
#
#   scripts/ensure-deps.sh [extra-package...]
#
# Checks the base list below plus any packages named on the command line (so a
# script that needs more, say a wasm build, runs `ensure-deps.sh wasi-libc`).
# Nothing missing: exits 0 silently, without touching the network. Something
# missing: as root, runs `apt-get update` once and installs only what is missing;
# otherwise prints the command to run and exits 1.
set -euo pipefail

# The native build: compiler, C library headers (gcc only recommends them, and
# recommends may be off), build tools. Add to this list only what every build
# needs; other builds pass their packages as arguments.
BASE_PACKAGES=(cmake gcc libc6-dev make pkg-config)

packages=("${BASE_PACKAGES[@]}" "$@")

if ! command -v dpkg-query >/dev/null 2>&1; then
  # Not Debian: we cannot check packages, so check the base tools instead.
  missing_tools=()
  for tool in cmake cc make pkg-config; do
    command -v "$tool" >/dev/null 2>&1 || missing_tools+=("$tool")
  done
  if ((${#missing_tools[@]})); then
    echo "ensure-deps: not a Debian system and missing: ${missing_tools[*]}" >&2
    echo "ensure-deps: install them with your package manager" >&2
    exit 1
  fi
  exit 0
fi

is_installed() {
  local status
  status=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) || return 1
  [[ $status == "install ok installed" ]]
}

missing=()
for pkg in "${packages[@]}"; do
  is_installed "$pkg" || missing+=("$pkg")
done
((${#missing[@]})) || exit 0

echo "ensure-deps: missing Debian packages: ${missing[*]}" >&2
if [[ $(id -u) -ne 0 ]]; then
  echo "ensure-deps: not root; install them with:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# Wait for a concurrent apt or dpkg instead of failing at once on its lock.
apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends "${missing[@]}"
echo "ensure-deps: installed ${missing[*]}" >&2
