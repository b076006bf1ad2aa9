#!/usr/bin/env bats
# runtime: Docker
BATS_TEST_TIMEOUT=300 # a hard limit; a passing run takes far less

load ../lib/common

# The Dockerfile picks the binary by TARGETARCH from release/build's output. Built for
# arm64 (the legacy builder takes TARGETARCH as a build argument; BuildKit sets it from
# --platform), the image must hold reaper-arm64, byte for byte, an AArch64 ELF file, and
# not the amd64 binary. The image is only inspected, not run.
@test "docker-image-arm64: the top-level Dockerfile for arm64 (TARGETARCH): the image holds the arm64 binary" {
  need_docker
  local dir=$WORK/arm64 image machine
  mkdir -p "$dir/image"
  (cd "$ROOT" && release/build --out "$dir/assets" arm64 >"$dir/build.log" 2>&1) || {
    tail -20 "$dir/build.log"
    fail "release/build arm64 failed"
  }
  # Where the Dockerfile takes it from (release/build empties its --out directory, so it
  # builds beside and copies just this file).
  cp "$dir/assets/reaper-arm64" "$ROOT/target/release-assets/reaper-arm64"
  image=reaper-test/reaper-arm64:$RUN
  docker build --label "$LABEL" --build-arg TARGETARCH=arm64 -t "$image" "$ROOT" >"$dir/docker-build.log" 2>&1 || {
    tail -20 "$dir/docker-build.log"
    fail "docker build --build-arg TARGETARCH=arm64 failed"
  }
  docker save "$image" | tar -x -C "$dir/image"
  tar -x -C "$dir/image" -f "$dir/image/$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["Layers"][0])' "$dir/image/manifest.json")" reaper
  machine=$(readelf -h "$dir/image/reaper" | sed -n 's/^ *Machine: *//p')
  say "measured: /reaper in the arm64 image: $machine, $(stat -c %s "$dir/image/reaper") bytes"
  assert_equal "$machine" "AArch64" # ELF machine of /reaper
  assert_equal "$(sha256sum <"$dir/image/reaper" | cut -d' ' -f1)" \
    "$(sha256sum <"$dir/assets/reaper-arm64" | cut -d' ' -f1)" # sha256 of /reaper (release/build's reaper-arm64)
  docker rmi "$image" >/dev/null 2>&1 || true
}
