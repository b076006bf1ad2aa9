# title: runc, a pod's shared PID namespace (shareProcessNamespace): reaper --pause as PID 1, reaper as a subreaper in containers that join it
# runtime: runc
# limit: 90

# What a kubelet asks of containerd or CRI-O for a pod with shareProcessNamespace: true,
# done with runc directly: the sandbox A (reaper --pause) is PID 1 of the pod's PID
# namespace, and the app containers B and C join it (a "pid" namespace with a path in
# their config.json) and run reaper -- APP.

file_has_line() { grep -qxF -- "$2" "$1"; }
init_pid() { runc_ state "$1" | sed -n 's/^ *"pid": \([0-9]*\),$/\1/p'; }

run_case() {
  command -v runc >/dev/null || cannot_run "runc is missing"
  command -v python3 >/dev/null || cannot_run "python3 is missing (it edits config.json)"
  local a b c ns rc out ps t0 ms client client_a client_b client_c status
  mkdir -p "$WORK/runc/state"
  a=p-sandbox b=p-app c=p-flush
  runc_start "$a" -- /reaper --pause
  # shellcheck disable=SC2154 # runc_start sets client
  client_a=$client
  poll 20 runc_has_proc "$a" '/reaper --pause' || notok "reaper --pause did not start"
  ns=/proc/$(init_pid "$a")/ns/pid
  say "the pod's PID namespace: $ns ($(readlink "$ns"))"
  runc_start "$b" --pid-ns "$ns" --env REAPER_LOG=debug -- /reaper -- \
    sh -c 'testkit orphans 100 && touch /tmp/orphaned && exec sleep 1000'
  client_b=$client
  poll 30 runc_ exec "$b" test -e /tmp/orphaned || notok "testkit orphans did not finish"
  poll 30 reaped_in_are "$WORK/runc/$b.out" 100 || true
  poll 10 runc_zombies_are "$b" 0 || true
  say "the shared PID namespace:"
  runc_ exec "$b" ps -o pid,ppid,stat,args | sed 's/^/      /'
  expect_eq "B's PID namespace is A's" "$(readlink "/proc/$(init_pid "$b")/ns/pid")" "$(readlink "$ns")"
  expect_eq "PID 1 in B" "$(runc_ exec "$b" cat /proc/1/cmdline | tr '\0' ' ')" "/reaper --pause "
  expect_eq "orphans of B reaped by B's reaper (its debug log)" "$(count_reaped "$WORK/runc/$b.out")" 100
  expect_eq "zombies" "$(runc_zombies "$b")" 0
  out=$(grep -E 'subreaper|warning' "$WORK/runc/$b.out" || true)
  say "B's reaper: $out"
  if grep -q 'warning' <<<"$out"; then notok "B's reaper warns"; else ok "B's reaper gives no warning"; fi
  if grep -q 'registered as child subreaper' <<<"$out"; then ok "B's reaper is a subreaper"; else notok "B's reaper did not say it is a subreaper"; fi

  t0=$(now_ms)
  runc_ kill "$b" TERM
  status=0
  wait "$client_b" || status=$?
  ms=$(($(now_ms) - t0))
  expect_faster "runc kill B TERM: B ends" "$ms" 2000
  expect_eq "B's exit status" "$status" 143
  ps=$(runc_ exec "$a" ps -o pid,args | awk 'NR > 1 && $1 != 1 && $2 != "ps"')
  expect_eq "processes left in the namespace but A's reaper" "$ps" ""

  # The pod stopped as a whole: the sandbox A gets SIGTERM while C still runs. A's reaper
  # is PID 1: its teardown gives C's processes (whose parent is outside the namespace)
  # SIGTERM and the grace period, not the kernel's SIGKILL when PID 1 exits.
  runc_start "$c" --pid-ns "$ns" -- /reaper -- \
    sh -c 'trap "echo the app got SIGTERM; exit 0" TERM; echo ready; while :; do sleep 1000 & wait; done'
  client_c=$client
  poll 20 file_has_line "$WORK/runc/$c.out" ready || notok "C did not start"
  t0=$(now_ms)
  runc_ kill "$a" TERM
  rc=0
  wait "$client_a" || rc=$?
  ms=$(($(now_ms) - t0))
  status=0
  poll 10 gone "$client_c" || notok "C still runs after A ended"
  wait "$client_c" || status=$?
  say "runc kill A TERM with C running: $(secs "$ms"); A's status $rc, C's $status"
  expect_faster "A ends" "$ms" 2000
  expect_eq "A's exit status" "$rc" 0
  expect_eq "A's output" "$(cat "$WORK/runc/$a.out")" ""
  expect_eq "C's exit status (its app handled SIGTERM; 137 = SIGKILLed)" "$status" 0
  expect_eq "C's app's last words" "$(tail -n 1 "$WORK/runc/$c.out")" "the app got SIGTERM"
  clean_runc
  finish
}
