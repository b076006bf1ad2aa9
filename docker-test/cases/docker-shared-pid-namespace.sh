# title: a shared PID namespace: reaper --pause and subreapers beside it
# runtime: Docker
# limit: 90

run_case() {
  need_docker
  local a b c rc out t0 ms ps status
  a=$(cname g-pause)
  b=$(cname g-app)
  # A: the pod's sandbox. B: an app container that joins its PID namespace.
  drun -d --name "$a" --entrypoint /reaper "$IMG_APP" --pause >/dev/null
  poll 20 has_proc "$a" '/reaper --pause' || notok "reaper --pause did not start"
  drun -d --name "$b" --pid "container:$a" -e REAPER_LOG=debug "$IMG_APP" \
    sh -c 'testkit orphans 100 && touch /tmp/orphaned && exec sleep 1000' >/dev/null
  poll 30 docker exec "$b" test -e /tmp/orphaned || notok "testkit orphans did not finish"
  poll 30 reaped_are "$b" 100 || true
  poll 10 no_zombies "$b" || true
  say "the shared PID namespace:"
  docker exec "$b" ps -o pid,ppid,stat,args | sed 's/^/      /'
  expect_eq "PID 1 in B" "$(docker exec "$b" cat /proc/1/cmdline | tr '\0' ' ')" "/reaper --pause "
  expect_eq "orphans of B reaped by B's reaper (its debug log)" "$(reaped_lines "$b")" 100
  expect_eq "zombies" "$(zombies "$b")" 0
  out=$(docker logs "$b" 2>&1 | grep -E 'subreaper|warning' || true)
  say "B's reaper: $out"
  if grep -q 'warning' <<<"$out"; then notok "B's reaper warns"; else ok "B's reaper gives no warning"; fi
  if grep -q 'registered as child subreaper' <<<"$out"; then ok "B's reaper is a subreaper"; else notok "B's reaper did not say it is a subreaper"; fi
  # At the default log level, a reaper beside another init prints nothing at all.
  rc=0
  out=$(drun --rm --pid "container:$a" "$IMG_APP" sh -c 'exit 7' 2>&1) || rc=$?
  expect_eq "status of another app beside A" "$rc" 7
  expect_eq "its reaper's output at the default level" "$out" ""

  t0=$(now_ms)
  docker stop "$b" >/dev/null
  ms=$(($(now_ms) - t0))
  expect_faster "docker stop B" "$ms" 2000
  expect_eq "B's exit status" "$(docker wait "$b")" 143
  ps=$(docker exec "$a" ps -o pid,args | awk 'NR > 1 && $1 != 1 && $2 != "ps"')
  expect_eq "processes left in the namespace but A's reaper" "$ps" ""

  # A pod stopped as a whole: its sandbox A may get SIGTERM while C still runs. A's reaper
  # is PID 1 there: its teardown must give C's processes (not its children: their parent
  # is outside the namespace) SIGTERM and the grace period, not leave them to the SIGKILL
  # that the kernel sends to a PID namespace whose PID 1 exits.
  c=$(cname g-flush)
  drun -d --name "$c" --pid "container:$a" "$IMG_APP" \
    sh -c 'trap "echo the app got SIGTERM; exit 0" TERM; echo ready; while :; do sleep 1000 & wait; done' >/dev/null
  poll 20 logs_have_line "$c" ready || notok "C did not start"
  t0=$(now_ms)
  docker stop "$a" >/dev/null
  ms=$(($(now_ms) - t0))
  status=$(docker wait "$c")
  say "docker stop A with C running: $(secs "$ms"); A's status $(docker wait "$a"), C's $status"
  expect_faster "docker stop A" "$ms" 2000
  expect_eq "A's exit status" "$(docker wait "$a")" 0
  expect_eq "A's output" "$(docker logs "$a" 2>&1)" ""
  expect_eq "C's exit status (its app handled SIGTERM; 137 = SIGKILLed)" "$status" 0
  expect_eq "C's app's last words" "$(docker logs "$c" 2>&1 | tail -1)" "the app got SIGTERM"
  finish
}
