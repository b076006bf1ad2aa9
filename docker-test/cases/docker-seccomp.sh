# title: under a seccomp profile that refuses pwritev2 and rt_sigtimedwait, reaper still logs, forwards docker stop and does not spin
# runtime: Docker
# limit: 120

# A profile as an operator writes one (Docker's JSON format): everything allowed but the
# two calls, which fail with EPERM, as Docker-style profiles answer for every call they do
# not list. reaper used to print nothing (pwritev2) and spin a CPU for ever, forwarding
# and reaping nothing (rt_sigtimedwait).
write_profile() {
  cat >"$1" <<'JSON'
{
  "defaultAction": "SCMP_ACT_ALLOW",
  "syscalls": [
    { "names": ["pwritev2", "rt_sigtimedwait"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1 }
  ]
}
JSON
}

# cpu_ticks CID: utime + stime of the container's PID 1 (reaper), in clock ticks.
cpu_ticks() {
  docker exec "$1" cat /proc/1/stat | awk '{ sub(/.*\) /, ""); print $12 + $13 }'
}

run_case() {
  need_docker
  local profile=$WORK/seccomp.json name rc logs cid before after ms status
  write_profile "$profile"

  name=$(cname seccomp-missing)
  rc=0
  drun --name "$name" --security-opt "seccomp=$profile" "$IMG_APP" no-such-command >/dev/null 2>&1 || rc=$?
  expect_eq "docker run status of a missing command" "$rc" 127
  logs=$(docker logs "$name" 2>&1)
  say "docker logs: $logs"
  if grep -qxF "reaper: cannot run 'no-such-command': No such file or directory" <<<"$logs"; then
    ok "reaper's message is in docker logs though pwritev2 is refused"
  else
    notok "reaper's message is not in docker logs"
  fi

  name=$(cname seccomp-exit)
  rc=0
  drun --name "$name" --security-opt "seccomp=$profile" "$IMG_APP" sh -c 'exit 7' >/dev/null 2>&1 || rc=$?
  expect_eq "docker run status of sh -c 'exit 7' (the exit is seen)" "$rc" 7

  cid=$(drun -d --security-opt "seccomp=$profile" "$IMG_APP" sh -c 'trap "exit 42" TERM; sleep 1000 & wait')
  poll 20 has_proc "$cid" 'sleep 1000' || notok "the app did not start"
  before=$(cpu_ticks "$cid")
  # A measurement window, not a wait for an event: a spinning reaper takes about 100
  # ticks a second, an idle one none.
  sleep 1
  after=$(cpu_ticks "$cid")
  say "reaper's CPU time over about a second of idling: $((after - before)) ticks"
  if ((after - before < 20)); then ok "reaper sleeps, it does not spin"; else notok "reaper spins: $((after - before)) ticks"; fi
  timed_stop "$cid"
  expect_eq "status after docker stop (SIGTERM forwarded, the handler's 42)" "$status" 42
  expect_faster "docker stop" "$ms" 5000
  finish
}
