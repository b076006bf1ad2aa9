#!/usr/bin/env bats
# runtime: Docker
BATS_TEST_TIMEOUT=120 # a hard limit; a passing run takes far less

load ../lib/common

@test "docker-orphans-no-zombie: an app that leaves 1,000 orphans: no zombie" {
  need_docker
  local n=1000 cid ctl ms
  cid=$(drun -d -e REAPER_LOG=debug "$IMG_APP" \
    sh -c "testkit orphans $n && touch /tmp/orphaned && exec sleep 1000")
  poll 30 docker exec "$cid" test -e /tmp/orphaned || fail "testkit orphans did not finish"
  timed ms poll 30 reaped_are "$cid" "$n" || true
  poll 10 no_zombies "$cid" || true
  say "after $n orphans: $(reaped_lines "$cid") reaped by reaper (its debug log) within $(secs "$ms"), $(zombies "$cid") zombies"
  docker exec "$cid" ps -o pid,ppid,stat,args
  assert_equal "$(reaped_lines "$cid")" "$n" # orphans reaped by reaper
  assert_equal "$(zombies "$cid")" 0 # zombies in docker exec ps
  timed ms docker stop "$cid" >/dev/null
  say "docker stop: $(secs "$ms")"
  assert_equal "$(docker wait "$cid")" 143 # exit status after docker stop

  # The control, which proves that the zombie count above would see zombies: without
  # reaper, PID 1 is `sleep`, and the orphans of a `docker exec` become its zombies.
  ctl=$(drun -d "$IMG_PLAIN" sleep 1000)
  poll 20 has_proc "$ctl" 'sleep 1000' || fail "the control did not start"
  docker exec "$ctl" testkit orphans "$n"
  timed ms poll 30 zombies_are "$ctl" "$n" || true
  say "control without reaper (PID 1 is sleep): $(zombies "$ctl") zombies after $(secs "$ms")"
  assert_equal "$(zombies "$ctl")" "$n" # zombies without reaper
  docker rm -f "$ctl" >/dev/null
}
