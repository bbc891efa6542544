#!/usr/bin/env bash
# Installs what the build and the tests need, when some of it is missing:
# 1. Debian packages. As root it runs apt-get; otherwise it prints the exact
#    apt-get line and fails. chromium is the headless browser of the web tests
#    (tests/web); nginx, openssl and curl (its HTTP/2 client) run the
#    reverse-proxy test (tests/deploy), which starts its own nginx on loopback
#    ports with its own config and never uses the system service (on a host
#    running systemd, Debian starts that service with its default site on
#    port 80 after the install: `systemctl disable --now nginx` if it is not
#    wanted); npm (and its nodejs) only when no npm is on the PATH, so that a
#    node from elsewhere (nodesource) is used as it is. libpq-dev is the
#    PostgreSQL client library of the PostgreSQL store, and postgresql the
#    server the tests run on (tests/pg/pg_cluster.sh starts a throwaway
#    cluster in a temporary directory; on a host running systemd, Debian also
#    creates and starts a "main" cluster on port 5432, which chatd never uses:
#    `systemctl disable --now postgresql` if it is not wanted).
# 2. The npm packages of the web tests, pinned by tests/web/package-lock.json
#    (`npm ci`, install scripts off; test tooling only, nothing is shipped):
#    the OpenAPI 3.1 validator, ajv, and puppeteer-core, which drives the
#    Debian chromium (it never downloads a browser). Skipped when up to date.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(cmake g++ make pkg-config
          libsqlitecpp-dev libsqlite3-dev nlohmann-json3-dev libcpp-httplib-dev
          libfmt-dev catch2 libssl-dev libjwt-dev libpcre2-dev libutf8proc-dev
          libpq-dev postgresql postgresql-contrib
          chromium nginx openssl curl)
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
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
fi

# The web tests' npm packages: again only when the lock file changed since.
web=tests/web
if [ ! -f "$web/node_modules/.package-lock.json" ] || [ "$web/package-lock.json" -nt "$web/node_modules/.package-lock.json" ]; then
  echo "Installing the web tests' npm packages (npm ci in $web)"
  npm ci --prefix "$web" --no-audit --no-fund --ignore-scripts --loglevel=error
fi
