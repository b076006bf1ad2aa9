#!/usr/bin/env bats
# runtime: Docker
BATS_TEST_TIMEOUT=120 # a hard limit; a passing run takes far less

load ../lib/common

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

@test "docker-seccomp: under a seccomp profile that refuses pwritev2 and rt_sigtimedwait, reaper still logs, forwards docker stop and does not spin" {
  need_docker
  local profile=$WORK/seccomp.json name logs cid before after ms status
  write_profile "$profile"

  name=$(cname seccomp-missing)
  run -127 drun --name "$name" --security-opt "seccomp=$profile" "$IMG_APP" no-such-command
  logs=$(docker logs "$name" 2>&1)
  say "docker logs: $logs"
  grep -qxF "reaper: cannot run 'no-such-command': No such file or directory" <<<"$logs" ||
    fail "reaper's message is not in docker logs though pwritev2 is refused: $logs"

  # The exit is seen.
  run -7 drun --security-opt "seccomp=$profile" "$IMG_APP" sh -c 'exit 7'

  cid=$(drun -d --security-opt "seccomp=$profile" "$IMG_APP" sh -c 'trap "exit 42" TERM; sleep 1000 & wait')
  poll 20 has_proc "$cid" 'sleep 1000' || fail "the app did not start"
  before=$(cpu_ticks "$cid")
  # A measurement window, not a wait for an event: a spinning reaper takes about 100
  # ticks a second, an idle one none.
  sleep 1
  after=$(cpu_ticks "$cid")
  say "reaper's CPU time over about a second of idling: $((after - before)) ticks"
  ((after - before < 20)) || fail "reaper spins: $((after - before)) ticks"
  timed_stop "$cid"
  assert_equal "$status" 42 # status after docker stop (SIGTERM forwarded, the handler's 42)
  assert_faster "$ms" 5000 # docker stop
}
