# title: drop-in for docker run --init (init-path in daemon.json)
# runtime: Docker
# limit: 120

run_case() {
  need_docker
  local dir=$WORK/dockerd-init host out hash comm cmdline rc cid t0 ms
  mkdir -p "$dir"
  printf '{\n  "init-path": "%s"\n}\n' "$BIN/reaper" >"$dir/daemon.json"
  start_dockerd "$dir" || {
    tail -20 "$dir/log" | sed 's/^/      | /'
    notok "the second dockerd did not start"
    finish
  }
  host=unix://$dir/sock
  local -x DOCKER_HOST=$host
  say "a second dockerd (own netns and directories), daemon.json: $(tr -d '\n' <"$dir/daemon.json")"
  out=$(docker info 2>&1)
  grep -E 'Init Binary|init version' <<<"$out" | sed 's/^ */      /'
  expect_eq "docker info: init binary" "$(docker info -f '{{.InitBinary}}')" "$BIN/reaper"
  expect_eq "docker info: init version (reaper's commit)" "$(docker info -f '{{.InitCommit.ID}}')" "${REAPER_VERSION##*git.}"
  if grep -i 'warning' <<<"$out" | grep -iE 'init|reaper'; then notok "docker info warns about the init"; else ok "docker info has no warning about the init"; fi
  if grep -iE 'init|reaper' "$dir/log" | grep -iE 'level=(warn|error)'; then notok "dockerd warns about the init"; else ok "dockerd's log has no warning about the init"; fi

  docker build -q -f "$WORK/ctx/Dockerfile.plain" -t "$IMG_PLAIN" "$WORK/ctx" >/dev/null 2>"$WORK/f-build.log" ||
    {
      cat "$WORK/f-build.log"
      notok "cannot build the image on the second dockerd"
      finish
    }
  out=$(docker run --rm --init "$IMG_PLAIN" sh -c 'cat /proc/1/comm; sha256sum /proc/1/exe; tr "\0" " " </proc/1/cmdline; echo; /sbin/docker-init --version')
  comm=$(sed -n 1p <<<"$out")
  hash=$(sed -n 2p <<<"$out" | cut -d' ' -f1)
  cmdline=$(sed -n 3p <<<"$out")
  say "docker run --init: PID 1 is '$cmdline' (comm $comm); /sbin/docker-init --version: $(sed -n 4p <<<"$out")"
  expect_eq "sha256 of PID 1's executable" "$hash" "$REAPER_SHA"
  rc=0
  docker run --rm --init "$IMG_PLAIN" sh -c 'exit 3' || rc=$?
  expect_eq "docker run --init status of sh -c 'exit 3'" "$rc" 3
  cid=$(docker run -d --init "$IMG_PLAIN" sh -c 'sleep 1000')
  poll 20 has_proc "$cid" 'sleep 1000' || notok "the app did not start"
  t0=$(now_ms)
  docker stop "$cid" >/dev/null
  ms=$(($(now_ms) - t0))
  expect_faster "docker stop with --init" "$ms" 2000
  expect_eq "exit status" "$(docker wait "$cid")" 143
  stop_daemon "$dir"
  finish
}
