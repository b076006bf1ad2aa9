#!/usr/bin/env bats
# runtime: Docker
BATS_TEST_TIMEOUT=90 # a hard limit; a passing run takes far less

load ../lib/common

@test "docker-no-cap-kill: without CAP_KILL, an app of another user cannot be signalled: reaper says so at start and on docker stop, once" {
  need_docker
  local cid ms status logs refused
  # The hardened container of issue 19: every capability dropped but the two --user needs.
  cid=$(drun -d --cap-drop ALL --cap-add SETUID --cap-add SETGID --entrypoint /reaper \
    "$IMG_APP" -t 1 --user 1000 -- sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done')
  poll 20 has_proc "$cid" 'sleep 0.1' || fail "the app did not start"
  timed_stop "$cid" -t 3
  logs=$(docker logs "$cid" 2>&1)
  printf '%s\n' "$logs"
  say "docker stop -t 3 took $(secs "$ms"), exit status $status"
  # The kernel refuses reaper's SIGTERM, so the app's handler never runs: docker kills it.
  assert_equal "$status" 137 # exit status (docker's SIGKILL: reaper cannot end the app)
  grep -qF 'reaper: warning: reaper (uid 0) lacks CAP_KILL and the app runs as uid 1000' <<<"$logs" ||
    fail "no warning at start"
  refused=$(grep -c 'reaper: warning: not permitted to send SIGTERM to process group .*keep CAP_KILL, or run reaper as the app.s user' <<<"$logs" || true)
  assert_equal "$refused" 1 # warnings naming the refused SIGTERM of docker stop
}
