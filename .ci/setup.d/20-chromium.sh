# Debian's Chromium for the browser tests (Playwright drives it via executable_path;
# Playwright's own browser download is not possible here). Sourced by .ci/run as root with
# `set -euo pipefail`; idempotent: does nothing when /usr/bin/chromium is already there.
if [ ! -x /usr/bin/chromium ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi
export INTERCHANGE_CHROMIUM=/usr/bin/chromium
