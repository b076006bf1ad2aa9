#!/usr/bin/env bats
# runtime: Docker
BATS_TEST_TIMEOUT=60 # a hard limit; a passing run takes far less

load ../lib/common

@test "docker-image-only-reaper: the top-level Dockerfile: an image with only /reaper, built offline" {
  need_docker
  say "$(grep -m1 'Sending build context' "$WORK/build-reaper.log" || echo 'build context: (BuildKit)')"
  local dir=$WORK/image-save files src want built
  mkdir -p "$dir"
  docker save "$IMG_REAPER" | tar -x -C "$dir"
  # Every file of every layer, from the manifest that `docker save` writes.
  files=$(python3 - "$dir" <<'PY'
import json, sys, tarfile
d = sys.argv[1]
for layer in json.load(open(f"{d}/manifest.json"))[0]["Layers"]:
    for m in tarfile.open(f"{d}/{layer}").getmembers():
        print(m.name + ("/" if m.isdir() else ""))
PY
  )
  assert_equal "$(paste -sd' ' <<<"$files")" "reaper" # files in the image
  tar -x -C "$dir" -f "$dir/$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["Layers"][0])' "$dir/manifest.json")" reaper
  # The binary the Dockerfile copies: cargo's build, or release/build's reaper-amd64 (as
  # COPY target/release-assets/reaper-${TARGETARCH}); either one this run has just built.
  # (`${TARGETARCH:-amd64}`, `${TARGETARCH}` or `$TARGETARCH`: amd64 here.)
  src=$(sed -n 's|^COPY \(.*\) /reaper$|\1|p' "$ROOT/Dockerfile" | sed 's/\${TARGETARCH\(:-[a-z0-9]*\)\{0,1\}}/amd64/; s/\$TARGETARCH/amd64/')
  want=$(sha256sum <"$ROOT/$src" | cut -d' ' -f1)
  say "the Dockerfile copies $src"
  built=$(sha256sum "$BIN/reaper" "$BIN/reaper-release-amd64" | awk -v w="$want" '$1 == w { print "yes" }' | head -n 1)
  assert_equal "${built:-no}" "yes" # $src is a binary this run built (cargo build or release/build amd64)
  assert_equal "$(sha256sum <"$dir/reaper" | cut -d' ' -f1)" "$want" # sha256 of /reaper in the image
  assert_equal "$(drun --rm "$IMG_REAPER" 2>&1)" "$REAPER_VERSION" # docker run IMAGE
  # The test image: reaper from COPY --from=IMAGE, as README.md's first snippet has it.
  run -4 drun --rm "$IMG_APP" sh -c 'exit 4'
}
