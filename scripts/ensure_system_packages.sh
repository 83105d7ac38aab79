#!/usr/bin/env bash
# Install Debian packages the project needs (e.g. chromium for the browser tests) when absent.
# Runs apt-get as root or through sudo; otherwise says what is missing and carries on, so the
# browser tests report themselves as skipped instead of failing obscurely.
set -uo pipefail
missing=()
for package in "$@"; do
  case "$package" in
    chromium) [ -x /usr/bin/chromium ] || missing+=(chromium) ;;
    python3-venv) python3 -m venv --help >/dev/null 2>&1 || missing+=(python3-venv) ;;
    *) dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package") ;;
  esac
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo="sudo"
else
  echo "Missing system packages: ${missing[*]} (install them with apt-get as root)." >&2
  exit 0
fi
echo "Installing system packages: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
