#!/usr/bin/env bash
# Installs the Debian packages the build needs, when some are missing.
# As root it runs apt-get; otherwise it prints the exact apt-get line and fails.
set -euo pipefail

packages=(cmake g++ make pkg-config
          libsqlitecpp-dev libsqlite3-dev nlohmann-json3-dev libcpp-httplib-dev
          libfmt-dev catch2 libssl-dev libjwt-dev libpcre2-dev libutf8proc-dev)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  echo "Installing missing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "Missing Debian packages. Install them with:" >&2
  echo "  sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
