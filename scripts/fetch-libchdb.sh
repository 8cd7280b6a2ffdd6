#!/usr/bin/env bash
# Fetches libchdb.so (the embedded ClickHouse engine) from the npm registry into .deps/chdb/.
# Idempotent: does nothing when the wanted version is already there.
set -euo pipefail

pkg="@chdb/lib-linux-x64-gnu"
version="${CHDB_NPM_VERSION:-26.7.3-stable.1}"
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${root}/.deps/chdb"
stamp="${dest}/VERSION"

if [[ -f "${dest}/libchdb.so" && -f "${stamp}" && "$(cat "${stamp}")" == "${version}" ]]; then
  echo "libchdb ${version} already in ${dest}"
  exit 0
fi

command -v npm >/dev/null || { echo "npm not found: install Node.js 20 and npm (apt-get install nodejs npm)" >&2; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "${tmp}"' EXIT
echo "fetching ${pkg}@${version} (~180 MB download, ~560 MB unpacked) ..."
(cd "${tmp}" && npm pack --silent "${pkg}@${version}" >/dev/null)
tgz="$(ls "${tmp}"/*.tgz)"
tar -xzf "${tgz}" -C "${tmp}" package/package.json package/libchdb.so

got="$(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "${tmp}/package/package.json")"
if [[ "${got}" != "${version}" ]]; then
  echo "npm returned ${pkg}@${got}, expected ${version}" >&2
  exit 1
fi

mkdir -p "${dest}"
mv "${tmp}/package/libchdb.so" "${dest}/libchdb.so.partial"
mv "${dest}/libchdb.so.partial" "${dest}/libchdb.so"
echo "${version}" > "${stamp}"
echo "libchdb ${version} installed in ${dest}/libchdb.so"
