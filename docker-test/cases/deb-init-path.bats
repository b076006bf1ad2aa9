#!/usr/bin/env bats
# runtime: Docker
BATS_TEST_TIMEOUT=180 # a hard limit; a passing run takes far less

load ../lib/common

# Installs the .deb that release/deb makes from this run's reaper-amd64, as a user would
# (dpkg -i), points a second dockerd at /usr/bin/reaper, and removes the package again,
# whatever happens (teardown). It will not touch a reaper that was installed before.
@test "deb-init-path: the Debian package installed, its /usr/bin/reaper as dockerd's init-path" {
  need_docker
  local dir=$WORK/deb deb
  if [[ -e /usr/bin/reaper ]] || dpkg -s reaper >/dev/null 2>&1; then
    fail "a reaper is installed here already (/usr/bin/reaper or the package): not touching it"
  fi
  mkdir -p "$dir"
  cp "$ROOT/target/release-assets/reaper-amd64" "$dir/"
  "$ROOT/release/deb" --out "$dir" amd64 >"$dir/deb.log" 2>&1 || {
    tail -20 "$dir/deb.log"
    fail "release/deb failed"
  }
  deb=$(ls "$dir"/reaper_*_amd64.deb)
  touch "$dir/installing"
  dpkg -i "$deb" || fail "dpkg -i $(basename "$deb") failed"
  say "installed $(basename "$deb"): $(/usr/bin/reaper --version)"
  assert_equal "$(sha256sum </usr/bin/reaper | cut -d' ' -f1)" \
    "$(sha256sum <"$dir/reaper-amd64" | cut -d' ' -f1)" # /usr/bin/reaper is the release binary
  init_path_checks /usr/bin/reaper
  dpkg -r reaper >/dev/null || fail "dpkg -r reaper failed"
  assert [ ! -e /usr/bin/reaper ] # dpkg -r removed /usr/bin/reaper
}

# Whatever happened: the package this case installed goes again.
teardown() {
  if [[ -e $WORK/deb/installing ]]; then dpkg -r reaper >/dev/null 2>&1 || true; fi
}
