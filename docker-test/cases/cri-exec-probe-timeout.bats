#!/usr/bin/env bats
# runtime: containerd (CRI)
BATS_TEST_TIMEOUT=240 # a hard limit; a passing run takes far less

load ../lib/common

# A liveness probe whose command hangs: the kubelet's ExecSync has a timeout (1 s here),
# after which containerd kills the probe's process with SIGKILL; what that process had
# started is orphaned inside the container, whose PID 1 inherits it. The same 50 probes
# against a container whose PID 1 is reaper and one without an init (PID 1 is the app,
# sleep). cri-driver runs them 10 at a time (a kubelet runs one probe of a container at a
# time; the outcome is the same, in a fifth of the time).

PROBE="sh -c 'sleep 5 & sleep 60'"

# probe_ps ID: the container's processes but PID 1, the app (sleep 1000) and ps itself:
# "STAT ARGS" lines.
probe_ps() {
  cri exec "$1" -- ps -o pid,stat,args |
    awk 'NR > 1 && $1 != 1 && $3 != "ps" && !($3 == "sleep" && $4 == "1000") { $1 = ""; print substr($0, 2) }'
}
count_zombies() { grep -c '^Z' <<<"$1" || true; }
count_live() { grep -v '^Z' <<<"$1" | grep -c . || true; }
no_sleep_5() { ! probe_ps "$1" | grep -qx '[^Z]* sleep 5'; }

@test "cri-exec-probe-timeout: containerd's CRI, exec probes that time out (kubernetes#81042, #110070): 50 ExecSync of sh -c 'sleep 5 & sleep 60' with a 1 s timeout leave no zombie under reaper; without an init, 50" {
  need_cri
  local pod with plain id out ps ms n=50 zombies=() live=()
  pod=$(cri runp probes)
  with=$(cri create "$pod" app "$CRI_APP" --env REAPER_LOG=debug -- sleep 1000)
  plain=$(cri create "$pod" plain "$CRI_PLAIN" -- sleep 1000)
  cri start "$with"
  cri start "$plain"
  poll 20 cri_has_proc "$with" 'sleep 1000' || fail "the container with reaper did not start"
  poll 20 cri_has_proc "$plain" 'sleep 1000' || fail "the container without an init did not start"
  assert_equal "$(cri exec "$with" -- cat /proc/1/cmdline | tr '\0' ' ')" "/reaper -- sleep 1000 " # PID 1 with reaper
  assert_equal "$(cri exec "$plain" -- cat /proc/1/cmdline | tr '\0' ' ')" "sleep 1000 " # PID 1 without an init

  for id in "$with" "$plain"; do
    out=$(cri probes "$id" "$n" 10 1 -- sh -c 'sleep 5 & sleep 60')
    say "$(cri_field "$id" name): $n probes of $PROBE, timeout 1 s: $out"
    assert_equal "$(grep -o 'timed_out=[0-9]*' <<<"$out" | cut -d= -f2)" "$n" # probes that timed out
  done
  # Once every `sleep 5` has ended (5 s after its probe started), what is left.
  for id in "$with" "$plain"; do
    poll 30 no_sleep_5 "$id" || fail "sleep 5 still runs in $(cri_field "$id" name) 30 s later"
    ps=$(probe_ps "$id")
    zombies+=("$(count_zombies "$ps")")
    live+=("$(count_live "$ps")")
    echo "$(cri_field "$id" name), its processes but PID 1, the app and ps ($(count_zombies "$ps") zombies, $(count_live "$ps") running):"
    sort <<<"$ps" | uniq -c
  done
  say "measured: after $n timed-out probes, with reaper ${zombies[0]} zombies and ${live[0]} processes left running; without an init ${zombies[1]} zombies and ${live[1]} running"
  assert_equal "${zombies[0]}" 0 # zombies with reaper as PID 1
  assert_equal "${zombies[1]}" "$n" # zombies without an init (PID 1 is sleep)

  # The leftovers end with the container: reaper's teardown gives them SIGTERM.
  ms=$(cri stop "$with" 10)
  say "StopContainer (10 s) with reaper and the leftovers: $(secs "$ms")"
  assert_faster "$ms" 2000 # StopContainer (10 s) with reaper and the leftovers
  assert_equal "$(cri_field "$with" exit_code)" 143 # exit code
  cri stop "$plain" 0 >/dev/null
  cri rm "$with"
  cri rm "$plain"
  cri stopp "$pod"
  cri rmp "$pod"
  cri_done
}
