#!/usr/bin/env bats
# runtime: runc
BATS_TEST_TIMEOUT=90 # a hard limit; a passing run takes far less

load ../lib/common

# What a kubelet asks of containerd or CRI-O for a pod with shareProcessNamespace: true,
# done with runc directly: the sandbox A (reaper --pause) is PID 1 of the pod's PID
# namespace, and the app containers B and C join it (a "pid" namespace with a path in
# their config.json) and run reaper -- APP.

file_has_line() { grep -qxF -- "$2" "$1"; }
init_pid() { runc_ state "$1" | sed -n 's/^ *"pid": \([0-9]*\),$/\1/p'; }
# term_and_wait ID CLIENT: `runc kill ID TERM`, then waits for CLIENT, its `runc run`,
# whose status it returns.
term_and_wait() {
  runc_ kill "$1" TERM
  wait "$2"
}

@test "runc-shared-pid-namespace: runc, a pod's shared PID namespace (shareProcessNamespace): reaper --pause as PID 1, reaper as a subreaper in containers that join it" {
  command -v runc >/dev/null || cannot_run "runc is missing"
  command -v python3 >/dev/null || cannot_run "python3 is missing (it edits config.json)"
  local a b c ns rc out ps ms client client_a client_b client_c status
  mkdir -p "$WORK/runc/state"
  a=p-sandbox b=p-app c=p-flush
  runc_start "$a" -- /reaper --pause
  client_a=$client
  poll 20 runc_has_proc "$a" '/reaper --pause' || fail "reaper --pause did not start"
  ns=/proc/$(init_pid "$a")/ns/pid
  say "the pod's PID namespace: $ns ($(readlink "$ns"))"
  runc_start "$b" --pid-ns "$ns" --env REAPER_LOG=debug -- /reaper -- \
    sh -c 'testkit orphans 100 && touch /tmp/orphaned && exec sleep 1000'
  client_b=$client
  poll 30 runc_ exec "$b" test -e /tmp/orphaned || fail "testkit orphans did not finish"
  poll 30 reaped_in_are "$WORK/runc/$b.out" 100 || true
  poll 10 runc_zombies_are "$b" 0 || true
  echo "the shared PID namespace:"
  runc_ exec "$b" ps -o pid,ppid,stat,args
  assert_equal "$(readlink "/proc/$(init_pid "$b")/ns/pid")" "$(readlink "$ns")" # B's PID namespace is A's
  assert_equal "$(runc_ exec "$b" cat /proc/1/cmdline | tr '\0' ' ')" "/reaper --pause " # PID 1 in B
  assert_equal "$(count_reaped "$WORK/runc/$b.out")" 100 # orphans of B reaped by B's reaper (its debug log)
  assert_equal "$(runc_zombies "$b")" 0 # zombies
  out=$(grep -E 'subreaper|warning' "$WORK/runc/$b.out" || true)
  say "B's reaper: $out"
  refute grep -q 'warning' <<<"$out" # B's reaper warns
  assert grep -q 'registered as child subreaper' <<<"$out" # B's reaper says it is a subreaper

  status=0
  timed ms term_and_wait "$b" "$client_b" || status=$?
  assert_faster "$ms" 2000 # runc kill B TERM: B ends
  assert_equal "$status" 143 # B's exit status
  ps=$(runc_ exec "$a" ps -o pid,args | awk 'NR > 1 && $1 != 1 && $2 != "ps"')
  assert_equal "$ps" "" # processes left in the namespace but A's reaper

  # The pod stopped as a whole: the sandbox A gets SIGTERM while C still runs. A's reaper
  # is PID 1: its teardown gives C's processes (whose parent is outside the namespace)
  # SIGTERM and the grace period, not the kernel's SIGKILL when PID 1 exits.
  runc_start "$c" --pid-ns "$ns" -- /reaper -- \
    sh -c 'trap "echo the app got SIGTERM; exit 0" TERM; echo ready; while :; do sleep 1000 & wait; done'
  client_c=$client
  poll 20 file_has_line "$WORK/runc/$c.out" ready || fail "C did not start"
  rc=0
  timed ms term_and_wait "$a" "$client_a" || rc=$?
  status=0
  poll 10 gone "$client_c" || fail "C still runs after A ended"
  wait "$client_c" || status=$?
  say "runc kill A TERM with C running: $(secs "$ms"); A's status $rc, C's $status"
  assert_faster "$ms" 2000 # A ends
  assert_equal "$rc" 0 # A's exit status
  assert_equal "$(cat "$WORK/runc/$a.out")" "" # A's output
  assert_equal "$status" 0 # C's exit status (its app handled SIGTERM; 137 = SIGKILLed)
  assert_equal "$(tail -n 1 "$WORK/runc/$c.out")" "the app got SIGTERM" # C's app's last words
  clean_runc
}
