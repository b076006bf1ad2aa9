# title: docker stop of an app without a SIGTERM handler, with and without reaper
# runtime: Docker
# limit: 60

# stop_timing IMAGE: starts `sh -c 'sleep 1000'`, times `docker stop`; sets ms and status.
stop_timing() {
  local cid
  cid=$(drun -d "$1" sh -c 'sleep 1000')
  poll 20 has_proc "$cid" 'sleep 1000' || notok "the app did not start"
  timed_stop "$cid"
}

run_case() {
  need_docker
  local ms status with without
  stop_timing "$IMG_APP"
  with=$ms
  say "docker stop with reaper:    $(secs "$ms"), exit status $status"
  expect_faster "docker stop with reaper" "$ms" 2000
  expect_eq "exit status with reaper" "$status" 143
  stop_timing "$IMG_PLAIN"
  without=$ms
  say "docker stop without reaper: $(secs "$ms"), exit status $status"
  # The control: PID 1 without a handler ignores SIGTERM; docker waits 10 s, then kills.
  if ((ms >= 9000)); then ok "docker stop without reaper takes the full 10 s timeout"; else notok "docker stop without reaper took only $(secs "$ms"): the control is broken"; fi
  expect_eq "exit status without reaper (SIGKILL)" "$status" 137
  say "measured: with reaper $(secs "$with"), without $(secs "$without")"
  finish
}
