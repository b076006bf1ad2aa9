#!/usr/bin/env bats
# runtime: Docker
BATS_TEST_TIMEOUT=90 # a hard limit; a passing run takes far less

load ../lib/common

@test "docker-shared-pid-namespace: a shared PID namespace: reaper --pause and subreapers beside it" {
  need_docker
  local a b c out ms ps status
  a=$(cname g-pause)
  b=$(cname g-app)
  # A: the pod's sandbox. B: an app container that joins its PID namespace.
  drun -d --name "$a" --entrypoint /reaper "$IMG_APP" --pause >/dev/null
  poll 20 has_proc "$a" '/reaper --pause' || fail "reaper --pause did not start"
  drun -d --name "$b" --pid "container:$a" -e REAPER_LOG=debug "$IMG_APP" \
    sh -c 'testkit orphans 100 && touch /tmp/orphaned && exec sleep 1000' >/dev/null
  poll 30 docker exec "$b" test -e /tmp/orphaned || fail "testkit orphans did not finish"
  poll 30 reaped_are "$b" 100 || true
  poll 10 no_zombies "$b" || true
  echo "the shared PID namespace:"
  docker exec "$b" ps -o pid,ppid,stat,args
  assert_equal "$(docker exec "$b" cat /proc/1/cmdline | tr '\0' ' ')" "/reaper --pause " # PID 1 in B
  assert_equal "$(reaped_lines "$b")" 100 # orphans of B reaped by B's reaper (its debug log)
  assert_equal "$(zombies "$b")" 0 # zombies
  out=$(docker logs "$b" 2>&1 | grep -E 'subreaper|warning' || true)
  say "B's reaper: $out"
  refute grep -q 'warning' <<<"$out" # B's reaper warns
  assert grep -q 'registered as child subreaper' <<<"$out" # B's reaper says it is a subreaper
  # At the default log level, a reaper beside another init prints nothing at all.
  run -7 drun --rm --pid "container:$a" "$IMG_APP" sh -c 'exit 7' # another app beside A
  assert_output "" # its reaper's output at the default level

  timed ms docker stop "$b" >/dev/null
  assert_faster "$ms" 2000 # docker stop B
  assert_equal "$(docker wait "$b")" 143 # B's exit status
  ps=$(docker exec "$a" ps -o pid,args | awk 'NR > 1 && $1 != 1 && $2 != "ps"')
  assert_equal "$ps" "" # processes left in the namespace but A's reaper

  # A pod stopped as a whole: its sandbox A may get SIGTERM while C still runs. A's reaper
  # is PID 1 there: its teardown must give C's processes (not its children: their parent
  # is outside the namespace) SIGTERM and the grace period, not leave them to the SIGKILL
  # that the kernel sends to a PID namespace whose PID 1 exits.
  c=$(cname g-flush)
  drun -d --name "$c" --pid "container:$a" "$IMG_APP" \
    sh -c 'trap "echo the app got SIGTERM; exit 0" TERM; echo ready; while :; do sleep 1000 & wait; done' >/dev/null
  poll 20 logs_have_line "$c" ready || fail "C did not start"
  timed ms docker stop "$a" >/dev/null
  status=$(docker wait "$c")
  say "docker stop A with C running: $(secs "$ms"); A's status $(docker wait "$a"), C's $status"
  assert_faster "$ms" 2000 # docker stop A
  assert_equal "$(docker wait "$a")" 0 # A's exit status
  assert_equal "$(docker logs "$a" 2>&1)" "" # A's output
  assert_equal "$status" 0 # C's exit status (its app handled SIGTERM; 137 = SIGKILLed)
  assert_equal "$(docker logs "$c" 2>&1 | tail -1)" "the app got SIGTERM" # C's app's last words
}
