# title: runc with an OCI bundle of its own (runc spec), reaper as PID 1: exit statuses, runc kill, 1,000 orphans, a daemon's data on stop
# runtime: runc
# limit: 120

# runc without any engine above it, as containerd's shim and CRI-O drive it: bundles made
# here (runc spec, a root of static busybox and reaper), state in $WORK/runc/state.
# `runc run` stays attached: its exit status is the container's.

# runc_status ID [make_bundle OPTION...] -- ARG...: runs it in the foreground; sets out
# (its output) and rc (its status).
runc_status() {
  local id=$1
  shift
  make_bundle "$WORK/runc/$id" "$@"
  rc=0
  out=$(runc_ run --bundle "$WORK/runc/$id" "$id" </dev/null 2>&1) || rc=$?
}

run_case() {
  command -v runc >/dev/null || cannot_run "runc is missing"
  command -v python3 >/dev/null || cannot_run "python3 is missing (it edits config.json)"
  local id rc out client ms status want t0 n=1000 data with
  mkdir -p "$WORK/runc/state"
  say "$(runc --version | paste -sd' ')"

  runc_status r-pid1 -- /reaper -- sh -c 'sha256sum /proc/1/exe; tr "\0" " " </proc/1/cmdline'
  say "PID 1: $(sed -n 2p <<<"$out")"
  expect_eq "sha256 of PID 1's executable" "$(sed -n 1p <<<"$out" | cut -d' ' -f1)" "$REAPER_SHA"
  for want in 0 3; do
    runc_status "r-exit$want" -- /reaper -- sh -c "exit $want"
    expect_eq "runc run status of sh -c 'exit $want'" "$rc" "$want"
  done
  runc_status r-missing -- /reaper -- no-such-command
  expect_eq "runc run status of a missing command" "$rc" 127
  expect_eq "reaper's message" "$out" "reaper: cannot run 'no-such-command': No such file or directory"
  runc_status r-noexec -- /reaper -- /tmp
  expect_eq "runc run status of a command that is not executable (/tmp)" "$rc" 126

  # runc kill TERM of an app without a SIGTERM handler; the control, with no init, ignores
  # SIGTERM until the SIGKILL that follows 5 s later (a kubelet waits 30 s).
  runc_start r-stop -- /reaper -- sh -c 'sleep 1000'
  poll 20 runc_has_proc r-stop 'sleep 1000' || notok "the app did not start"
  stop_with_timeout 5 "$client" runc_ kill r-stop
  with=$ms
  # Under the 5 s after which SIGKILL follows (and the status says which ended it).
  expect_faster "runc kill TERM with reaper: the container ends" "$ms" 4000
  expect_eq "runc run status after SIGTERM" "$status" 143
  runc_start r-stop-plain -- sh -c 'sleep 1000'
  poll 20 runc_has_proc r-stop-plain 'sleep 1000' || notok "the control did not start"
  stop_with_timeout 5 "$client" runc_ kill r-stop-plain
  if ((ms >= 5000)); then ok "without an init, SIGTERM is ignored until SIGKILL ($(secs "$ms"))"; else notok "without an init the container ended after $(secs "$ms"): the control is broken"; fi
  expect_eq "runc run status without an init (SIGKILL)" "$status" 137
  say "measured: stop with reaper $(secs "$with") (143); without an init $(secs "$ms") (5 s timeout, then SIGKILL: 137)"

  # 1,000 orphans: reaper reaps them all, ps in the container shows no zombie.
  id=r-orphans
  runc_start "$id" --env REAPER_LOG=debug -- /reaper -- \
    sh -c "testkit orphans $n && touch /tmp/orphaned && exec sleep 1000"
  poll 30 runc_ exec "$id" test -e /tmp/orphaned || notok "testkit orphans did not finish"
  t0=$(now_ms)
  poll 30 reaped_in_are "$WORK/runc/$id.out" "$n" || true
  poll 10 runc_zombies_are "$id" 0 || true
  say "after $n orphans: $(count_reaped "$WORK/runc/$id.out") reaped by reaper (its debug log), $(runc_zombies "$id") zombies, within $(secs $(($(now_ms) - t0)))"
  expect_eq "orphans reaped by reaper" "$(count_reaped "$WORK/runc/$id.out")" "$n"
  expect_eq "zombies in runc exec ps" "$(runc_zombies "$id")" 0
  stop_with_timeout 5 "$client" runc_ kill "$id"
  expect_eq "runc run status after SIGTERM" "$status" 143
  # The control: PID 1 is sleep, and the orphans of a runc exec become its zombies.
  id=r-orphans-plain
  runc_start "$id" -- sleep 1000
  poll 20 runc_has_proc "$id" 'sleep 1000' || notok "the control did not start"
  runc_ exec "$id" testkit orphans "$n"
  poll 30 runc_zombies_are "$id" "$n" || true
  expect_eq "zombies without reaper (PID 1 is sleep)" "$(runc_zombies "$id")" "$n"
  runc_ kill "$id" KILL
  wait "$client" || true

  # A daemon left behind (own session, parent PID 1) writes its data to a bind-mounted
  # directory on SIGTERM, slowly (1 s): it is there once runc run has returned.
  id=r-flush
  data=$WORK/runc/flush-data
  mkdir -p "$data"
  runc_start "$id" --bind "$data:/data" -- /reaper -- sh -c '(setsid flushd /data &); exec sleep 1000'
  poll 20 test -s "$data/ready" || notok "flushd did not start"
  stop_with_timeout 9 "$client" runc_ kill "$id"
  say "runc kill TERM with flushd behind: the container ended after $(secs "$ms"), status $status; the directory holds: $(cat "$data/data" 2>/dev/null || echo '(no data)')"
  expect_eq "data written before the container ended" "$(cut -d' ' -f1 "$data/data" 2>/dev/null)" "flushed"
  expect_faster "the container's end (no SIGKILL)" "$ms" 9000
  expect_eq "runc run status" "$status" 143

  clean_runc
  finish
}
