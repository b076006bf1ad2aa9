# title: the top-level Dockerfile: an image with only /reaper, built offline
# runtime: Docker
# limit: 60

run_case() {
  need_docker
  say "$(grep -m1 'Sending build context' "$WORK/build-reaper.log" || echo 'build context: (BuildKit)')"
  local dir=$WORK/image-save files
  mkdir -p "$dir"
  docker save "$IMG_REAPER" | tar -x -C "$dir"
  # Every file of every layer, from the manifest that `docker save` writes.
  files=$(python3 - "$dir" <<'EOF'
import json, sys, tarfile
d = sys.argv[1]
for layer in json.load(open(f"{d}/manifest.json"))[0]["Layers"]:
    for m in tarfile.open(f"{d}/{layer}").getmembers():
        print(m.name + ("/" if m.isdir() else ""))
EOF
  )
  expect_eq "files in the image" "$(paste -sd' ' <<<"$files")" "reaper"
  tar -x -C "$dir" -f "$dir/$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["Layers"][0])' "$dir/manifest.json")" reaper
  # The binary the Dockerfile copies: cargo's build, or release/build's reaper-amd64 (as
  # COPY target/release-assets/reaper-${TARGETARCH}); either one this run has just built.
  local src want built
  src=$(sed -n 's|^COPY \(.*\) /reaper$|\1|p' "$ROOT/Dockerfile" | sed 's/\${\{0,1\}TARGETARCH}\{0,1\}/amd64/')
  want=$(sha256sum <"$ROOT/$src" | cut -d' ' -f1)
  say "the Dockerfile copies $src"
  built=$(sha256sum "$BIN/reaper" "$BIN/reaper-release-amd64" | awk -v w="$want" '$1 == w { print "yes" }' | head -n 1)
  expect_eq "$src is a binary this run built (cargo build or release/build amd64)" "${built:-no}" "yes"
  expect_eq "sha256 of /reaper in the image" "$(sha256sum <"$dir/reaper" | cut -d' ' -f1)" "$want"
  expect_eq "docker run IMAGE" "$(drun --rm "$IMG_REAPER" 2>&1)" "$REAPER_VERSION"
  local rc=0
  drun --rm "$IMG_APP" sh -c 'exit 4' >/dev/null 2>&1 || rc=$?
  expect_eq "status of sh -c 'exit 4' in the test image (reaper from COPY --from=IMAGE)" "$rc" 4
  finish
}
