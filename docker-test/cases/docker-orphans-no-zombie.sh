# title: an app that leaves 1,000 orphans: no zombie
# runtime: Docker
# limit: 120

run_case() {
  need_docker
  local n=1000 cid ctl t0
  cid=$(drun -d -e REAPER_LOG=debug "$IMG_APP" \
    sh -c "testkit orphans $n && touch /tmp/orphaned && exec sleep 1000")
  poll 30 docker exec "$cid" test -e /tmp/orphaned || notok "testkit orphans did not finish"
  t0=$(now_ms)
  poll 30 reaped_are "$cid" "$n" || true
  poll 10 no_zombies "$cid" || true
  say "after $n orphans: $(reaped_lines "$cid") reaped by reaper (its debug log), $(zombies "$cid") zombies, within $(secs $(($(now_ms) - t0)))"
  expect_eq "orphans reaped by reaper" "$(reaped_lines "$cid")" "$n"
  expect_eq "zombies in docker exec ps" "$(zombies "$cid")" 0
  docker exec "$cid" ps -o pid,ppid,stat,args | sed 's/^/      /'
  t0=$(now_ms)
  docker stop "$cid" >/dev/null
  say "docker stop: $(secs $(($(now_ms) - t0)))"
  expect_eq "exit status after docker stop" "$(docker wait "$cid")" 143

  # The control, which proves that the zombie count above would see zombies: without
  # reaper, PID 1 is `sleep`, and the orphans of a `docker exec` become its zombies.
  ctl=$(drun -d "$IMG_PLAIN" sleep 1000)
  poll 20 has_proc "$ctl" 'sleep 1000' || notok "the control did not start"
  docker exec "$ctl" testkit orphans "$n"
  t0=$(now_ms)
  poll 30 zombies_are "$ctl" "$n" || true
  say "control without reaper (PID 1 is sleep): $(zombies "$ctl") zombies after $(secs $(($(now_ms) - t0)))"
  expect_eq "zombies without reaper" "$(zombies "$ctl")" "$n"
  docker rm -f "$ctl" >/dev/null
  finish
}
