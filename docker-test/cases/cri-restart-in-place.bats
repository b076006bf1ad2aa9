#!/usr/bin/env bats
# runtime: containerd (CRI)
BATS_TEST_TIMEOUT=180 # a hard limit; a passing run takes far less

load ../lib/common

# What a kubelet does when a container of a running pod exits with a failure (restartPolicy
# Always or OnFailure): ContainerStatus says EXITED, then CreateContainer with the same
# name and attempt + 1 in the same sandbox, and StartContainer; the sandbox (reaper
# --pause, PID 1 of the pod: shareProcessNamespace) runs on. The first attempt crashes
# with exit 3 and leaves a child behind (sleep 999); reaper, its ENTRYPOINT, tears it
# down before it exits.

# log_lines FILE: the lines of a container's log (the CRI's format: time, stream, tag,
# line), pids as N.
log_lines() { cut -d' ' -f4- "$1" | sed 's/pid [0-9]*/pid N/g'; }

@test "cri-restart-in-place: containerd's CRI, a crashed container restarted in place (a new attempt in the same sandbox): reaper starts clean, nothing of the first attempt is left, the shared PID namespace is still reaped" {
  need_cri
  local pod first second log ps ms n=1000
  pod=$(cri runp restart --share-pid)
  first=$(cri create "$pod" app "$CRI_APP" --share-pid --env REAPER_LOG=debug -- \
    sh -c 'sleep 999 & testkit orphans 100; exit 3')
  cri start "$first"
  poll 30 cri_state_is "$first" EXITED || fail "the first attempt did not exit"
  assert_equal "$(cri_field "$first" exit_code)" 3 # first attempt: exit code (ContainerStatus)
  log=$(cri_log restart app 0)
  say "the first attempt's reaper reaped $(count_reaped "$log") processes besides the app (its debug log)"
  assert_equal "$(count_reaped "$log")" 101 # first attempt: what its reaper reaped besides the app (debug log: 100 orphans, sleep 999)

  second=$(cri create "$pod" app "$CRI_APP" --share-pid --attempt 1 --env REAPER_LOG=debug -- \
    sh -c 'echo started; exec sleep 1000')
  cri start "$second"
  poll 20 cri_has_proc "$second" 'sleep 1000' || fail "the second attempt did not start"
  assert_equal "$(cri status "$second" | grep -E '^(name|attempt|state)=' | paste -sd' ')" "name=app attempt=1 state=RUNNING" # second attempt (ContainerStatus)
  echo "the pod's PID namespace with the second attempt:"
  cri exec "$second" -- ps -o pid,ppid,stat,args
  ps=$(cri exec "$second" -- ps -o pid,args | awk 'NR > 1 && $2 != "ps" { $1 = ""; print substr($0, 2) }' | paste -sd'|')
  assert_equal "$ps" "/reaper --pause|/reaper -- sh -c echo started; exec sleep 1000|sleep 1000" # processes of the pod: the sandbox, the second attempt's reaper and app
  say "the second attempt's reaper: $(log_lines "$(cri_log restart app 1)" | paste -sd'|')"
  assert_equal "$(log_lines "$(cri_log restart app 1)" | head -n 2 | paste -sd'|')" \
    "$(log_lines "$(cri_log restart app 0)" | head -n 2 | paste -sd'|')" # the second attempt's reaper starts as the first did (its first two lines, pids apart)

  # The shared namespace is still reaped by the sandbox: an ExecSync's orphans go to the
  # pod's PID 1.
  cri exec "$second" -- testkit orphans "$n"
  poll 30 cri_zombies_are "$second" 0 || true
  say "zombies after an ExecSync left $n orphans in the restarted pod: $(cri_zombies "$second")"
  assert_equal "$(cri_zombies "$second")" 0 # zombies after an ExecSync left $n orphans in the restarted pod

  ms=$(cri stop "$second" 10)
  say "StopContainer (10 s) of the second attempt: $(secs "$ms")"
  assert_faster "$ms" 2000 # StopContainer (10 s) of the second attempt
  assert_equal "$(cri_field "$second" exit_code)" 143 # its exit code
  cri rm "$first"
  cri rm "$second"
  cri stopp "$pod"
  cri rmp "$pod"
  cri_done
}
