#!/usr/bin/env bash
# Builds the four service images locally, without pulling anything from a registry:
#   1. a Debian bookworm base image (debootstrap + docker import) unless BASE_IMAGE exists;
#   2. per service, in .cache/images/<service>: its dependencies exported from uv.lock with
#      hashes (requirements.txt), their wheels, and the wheels of greenchain-common, the service
#      and the workspace libraries it uses (the console: greenchain-reports);
#   3. greenchain-{ingest,scoring,ledger,console}:VERSION from services/<service>/Dockerfile.
# Needs a running Docker engine (and debootstrap for step 1). Users with a registry can skip
# step 1: BASE_IMAGE=python:3.11-slim-bookworm scripts/images.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BASE_IMAGE=${BASE_IMAGE:-greenchain-base:bookworm}
VERSION=${VERSION:-0.1.0}
UV=${UV:-.cache/uv/bin/uv}
PIP=${PIP:-.cache/uv/bin/pip}  # the pip beside uv (make installs both)

if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  [ "$BASE_IMAGE" = greenchain-base:bookworm ] || { echo "images: $BASE_IMAGE not found" >&2; exit 1; }
  echo "images: building $BASE_IMAGE with debootstrap (once)" >&2
  # the machine's own Debian mirror, as configured for apt
  mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
  [ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $3 == "bookworm" {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
  rootfs=$(mktemp -d)
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$rootfs" $mirror >&2
  tar -C "$rootfs" -c . | docker import - "$BASE_IMAGE" >/dev/null
  rm -rf "$rootfs"
fi

for service in ingest scoring ledger console; do
  stage=.cache/images/$service
  rm -rf "$stage" && mkdir -p "$stage/wheels" "$stage/workspace"
  "$UV" export --quiet --frozen --package "greenchain-$service" --no-dev --no-emit-workspace \
    --no-header --output-file "$stage/requirements.txt" >/dev/null
  "$PIP" wheel -q --require-hashes -r "$stage/requirements.txt" --wheel-dir "$stage/wheels" >&2
  packages=(greenchain-common "greenchain-$service")
  [ "$service" = console ] && packages+=(greenchain-reports)
  for package in "${packages[@]}"; do
    "$UV" build --quiet --package "$package" --wheel --out-dir "$stage/workspace" >&2
  done
  docker build -q --network host --build-arg BASE_IMAGE="$BASE_IMAGE" \
    -t "greenchain-$service:$VERSION" -f "services/$service/Dockerfile" . >/dev/null
  echo "greenchain-$service:$VERSION"
done
