#!/usr/bin/env bats
# runtime: Docker
BATS_TEST_TIMEOUT=60 # a hard limit; a passing run takes far less

load ../lib/common

# stop_timing IMAGE: starts `sh -c 'sleep 1000'`, times `docker stop`; sets ms and status.
stop_timing() {
  local cid
  cid=$(drun -d "$1" sh -c 'sleep 1000')
  poll 20 has_proc "$cid" 'sleep 1000' || fail "the app did not start"
  timed_stop "$cid"
}

@test "docker-stop-fast: docker stop of an app without a SIGTERM handler, with and without reaper" {
  need_docker
  local ms status with without
  stop_timing "$IMG_APP"
  with=$ms
  say "docker stop with reaper:    $(secs "$ms"), exit status $status"
  assert_faster "$ms" 2000 # docker stop with reaper
  assert_equal "$status" 143 # exit status with reaper
  stop_timing "$IMG_PLAIN"
  without=$ms
  say "docker stop without reaper: $(secs "$ms"), exit status $status"
  # The control: PID 1 without a handler ignores SIGTERM; docker waits 10 s, then kills.
  ((ms >= 9000)) || fail "docker stop without reaper took only $(secs "$ms"): the control is broken"
  assert_equal "$status" 137 # exit status without reaper (SIGKILL)
  say "measured: with reaper $(secs "$with"), without $(secs "$without")"
}
