#!/usr/bin/env bats
# runtime: Docker
BATS_TEST_TIMEOUT=90 # a hard limit; a passing run takes far less

load ../lib/common

# The launcher starts a daemon in a session of its own and exits 0; the daemon ends with
# 0 on SIGTERM.
DAEMON='trap "exit 0" TERM; while :; do sleep 1; done'
LAUNCHER="setsid sh -c '$DAEMON' & exit 0"

# reaper says (at info level) when the main child, the launcher, has exited.
launcher_gone() { docker logs "$1" 2>&1 | grep -qF 'reaper: main child exited with status 0'; }
running() { [[ $(docker inspect -f '{{.State.Running}}' "$1") == true ]]; }

@test "docker-wait-all-daemon: REAPER_WAIT_ALL=1: a launcher that starts a daemon and exits keeps the container up; docker stop reaches the daemon" {
  need_docker
  local cid ms status
  cid=$(drun -d -e REAPER_WAIT_ALL=1 -e REAPER_LOG=info "$IMG_APP" sh -c "$LAUNCHER")
  poll 20 has_proc "$cid" "sh -c $DAEMON" || fail "the daemon did not start"
  poll 20 launcher_gone "$cid" || fail "the launcher did not exit"
  running "$cid" || fail "the container ended with the launcher"
  has_proc "$cid" "sh -c $DAEMON" || fail "the daemon ended with the launcher"
  timed_stop "$cid"
  say "docker stop with REAPER_WAIT_ALL=1: $(secs "$ms"), exit status $status"
  assert_faster "$ms" 5000 # docker stop reaches the daemon
  assert_equal "$status" 0 # exit status (the daemon ended well on SIGTERM)

  # Without it, the container ends as the launcher exits (the daemon gets the teardown).
  cid=$(drun -d "$IMG_APP" sh -c "$LAUNCHER")
  status=$(timeout 20 docker wait "$cid") || fail "without REAPER_WAIT_ALL the container did not end"
  assert_equal "$status" 0 # exit status without REAPER_WAIT_ALL
}
