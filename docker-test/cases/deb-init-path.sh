# title: the Debian package installed, its /usr/bin/reaper as dockerd's init-path
# runtime: Docker
# limit: 180

# Installs the .deb that release/deb makes from this run's reaper-amd64, as a user would
# (dpkg -i), points a second dockerd at /usr/bin/reaper, and removes the package again,
# whatever happens. It will not touch a reaper that was installed before.
run_case() {
  need_docker
  local dir=$WORK/deb deb
  if [[ -e /usr/bin/reaper ]] || dpkg -s reaper >/dev/null 2>&1; then
    notok "a reaper is installed here already (/usr/bin/reaper or the package): not touching it"
    finish
  fi
  mkdir -p "$dir"
  cp "$ROOT/target/release-assets/reaper-amd64" "$dir/"
  "$ROOT/release/deb" --out "$dir" amd64 >"$dir/deb.log" 2>&1 || {
    tail -20 "$dir/deb.log" | sed 's/^/      | /'
    notok "release/deb failed"
    finish
  }
  deb=$(ls "$dir"/reaper_*_amd64.deb)
  trap 'dpkg -r reaper >/dev/null 2>&1' EXIT
  trap 'exit 143' TERM
  dpkg -i "$deb" >"$dir/dpkg.log" 2>&1 || {
    cat "$dir/dpkg.log"
    notok "dpkg -i $(basename "$deb") failed"
    finish
  }
  say "installed $(basename "$deb"): $(/usr/bin/reaper --version)"
  expect_eq "/usr/bin/reaper is the release binary" "$(sha256sum </usr/bin/reaper | cut -d' ' -f1)" \
    "$(sha256sum <"$dir/reaper-amd64" | cut -d' ' -f1)"
  init_path_checks /usr/bin/reaper
  dpkg -r reaper >/dev/null 2>&1 || notok "dpkg -r reaper failed"
  if [[ -e /usr/bin/reaper ]]; then notok "/usr/bin/reaper is still there after dpkg -r"; else ok "dpkg -r removed /usr/bin/reaper"; fi
  finish
}
