#!/usr/bin/env bats
# runtime: Docker
BATS_TEST_TIMEOUT=300 # a hard limit; a passing run takes far less

load ../lib/common

# The Dockerfile picks the binary by TARGETARCH from release/build's output. Built for
# arm64 twice: by the classic builder, which takes TARGETARCH as a build argument, and by
# BuildKit (`DOCKER_BUILDKIT=1 docker build --platform linux/arm64`, which sets it from
# --platform; Debian's docker.io client runs the daemon's BuildKit without buildx, offline:
# a Docker CLI of 23 or later would want the buildx plugin). Each image must hold
# reaper-arm64, byte for byte, an AArch64 ELF file, and not the amd64 binary. The images are
# only inspected, not run.
@test "docker-image-arm64: the top-level Dockerfile for arm64 (classic builder with TARGETARCH, BuildKit with --platform): the image holds the arm64 binary" {
  need_docker
  local dir=$WORK/arm64 builder image layer machine
  mkdir -p "$dir"
  (cd "$ROOT" && release/build --out "$dir/assets" arm64 >"$dir/build.log" 2>&1) || {
    tail -20 "$dir/build.log"
    fail "release/build arm64 failed"
  }
  # Where the Dockerfile takes it from (release/build empties its --out directory, so it
  # builds beside and copies just this file).
  cp "$dir/assets/reaper-arm64" "$ROOT/target/release-assets/reaper-arm64"
  for builder in classic buildkit; do
    image=reaper-test/reaper-arm64-$builder:$RUN
    if [ $builder = classic ]; then
      docker build --label "$LABEL" --build-arg TARGETARCH=arm64 -t "$image" "$ROOT" >"$dir/docker-build.log" 2>&1
    else
      DOCKER_BUILDKIT=1 /usr/bin/docker build --label "$LABEL" --platform linux/arm64 -t "$image" "$ROOT" >"$dir/docker-build.log" 2>&1
    fi || {
      tail -20 "$dir/docker-build.log"
      fail "docker build ($builder) for arm64 failed"
    }
    rm -rf "$dir/image" && mkdir -p "$dir/image"
    docker save "$image" | tar -x -C "$dir/image"
    layer=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["Layers"][0])' "$dir/image/manifest.json")
    tar -x -C "$dir/image" -f "$dir/image/$layer" reaper
    machine=$(readelf -h "$dir/image/reaper" | sed -n 's/^ *Machine: *//p')
    say "measured: /reaper in the arm64 image ($builder): $machine, $(stat -c %s "$dir/image/reaper") bytes"
    assert_equal "$machine" "AArch64" # ELF machine of /reaper ($builder)
    assert_equal "$(sha256sum <"$dir/image/reaper" | cut -d' ' -f1)" \
      "$(sha256sum <"$dir/assets/reaper-arm64" | cut -d' ' -f1)" # sha256 of /reaper ($builder; release/build's reaper-arm64)
    # Only BuildKit also labels the image arm64; the classic builder calls it the host's.
    if [ $builder = buildkit ]; then
      assert_equal "$(docker image inspect -f '{{.Architecture}}' "$image")" arm64 # architecture of the image (buildkit)
    fi
    docker rmi "$image" >/dev/null 2>&1 || true
  done
}
