#!/usr/bin/env bats
# runtime: runc
BATS_TEST_TIMEOUT=120 # a hard limit; a passing run takes far less

load ../lib/common

# runc without any engine above it, as containerd's shim and CRI-O drive it: bundles made
# here (runc spec, a root of static busybox and reaper), state in $WORK/runc/state.
# `runc run` stays attached: its exit status is the container's.

# runc_status ID [make_bundle OPTION...] -- ARG...: the bundle, then `runc run` of it in
# the foreground: its output, and its status, as bats' `run` gives them.
runc_status() {
  local id=$1
  shift
  make_bundle "$WORK/runc/$id" "$@"
  runc_ run --bundle "$WORK/runc/$id" "$id" </dev/null
}

@test "runc-bundle-pid1: runc with an OCI bundle of its own (runc spec), reaper as PID 1: exit statuses, runc kill, 1,000 orphans, a daemon's data on stop" {
  command -v runc >/dev/null || cannot_run "runc is missing"
  command -v python3 >/dev/null || cannot_run "python3 is missing (it edits config.json)"
  local id client ms status want n=1000 data with
  mkdir -p "$WORK/runc/state"
  say "$(runc --version | paste -sd' ')"

  run -0 runc_status r-pid1 -- /reaper -- sh -c 'sha256sum /proc/1/exe; tr "\0" " " </proc/1/cmdline'
  say "PID 1: ${lines[1]}"
  assert_equal "$(cut -d' ' -f1 <<<"${lines[0]}")" "$REAPER_SHA" # sha256 of PID 1's executable
  for want in 0 3; do
    run "-$want" runc_status "r-exit$want" -- /reaper -- sh -c "exit $want"
  done
  run -127 runc_status r-missing -- /reaper -- no-such-command # a missing command
  assert_output "reaper: cannot run 'no-such-command': No such file or directory" # reaper's message
  run -126 runc_status r-noexec -- /reaper -- /tmp # a command that is not executable (/tmp)

  # runc kill TERM of an app without a SIGTERM handler; the control, with no init, ignores
  # SIGTERM until the SIGKILL that follows 5 s later (a kubelet waits 30 s).
  runc_start r-stop -- /reaper -- sh -c 'sleep 1000'
  poll 20 runc_has_proc r-stop 'sleep 1000' || fail "the app did not start"
  stop_with_timeout 5 "$client" runc_ kill r-stop
  with=$ms
  # Under the 5 s after which SIGKILL follows (and the status says which ended it).
  assert_faster "$ms" 4000 # runc kill TERM with reaper: the container ends
  assert_equal "$status" 143 # runc run status after SIGTERM
  runc_start r-stop-plain -- sh -c 'sleep 1000'
  poll 20 runc_has_proc r-stop-plain 'sleep 1000' || fail "the control did not start"
  stop_with_timeout 5 "$client" runc_ kill r-stop-plain
  ((ms >= 5000)) || fail "without an init the container ended after $(secs "$ms"): the control is broken"
  assert_equal "$status" 137 # runc run status without an init (SIGKILL)
  say "measured: stop with reaper $(secs "$with") (143); without an init $(secs "$ms") (5 s timeout, then SIGKILL: 137)"

  # 1,000 orphans: reaper reaps them all, ps in the container shows no zombie.
  id=r-orphans
  runc_start "$id" --env REAPER_LOG=debug -- /reaper -- \
    sh -c "testkit orphans $n && touch /tmp/orphaned && exec sleep 1000"
  poll 30 runc_ exec "$id" test -e /tmp/orphaned || fail "testkit orphans did not finish"
  timed ms poll 30 reaped_in_are "$WORK/runc/$id.out" "$n" || true
  poll 10 runc_zombies_are "$id" 0 || true
  say "after $n orphans: $(count_reaped "$WORK/runc/$id.out") reaped by reaper (its debug log) within $(secs "$ms"), $(runc_zombies "$id") zombies"
  assert_equal "$(count_reaped "$WORK/runc/$id.out")" "$n" # orphans reaped by reaper
  assert_equal "$(runc_zombies "$id")" 0 # zombies in runc exec ps
  stop_with_timeout 5 "$client" runc_ kill "$id"
  assert_equal "$status" 143 # runc run status after SIGTERM
  # The control: PID 1 is sleep, and the orphans of a runc exec become its zombies.
  id=r-orphans-plain
  runc_start "$id" -- sleep 1000
  poll 20 runc_has_proc "$id" 'sleep 1000' || fail "the control did not start"
  runc_ exec "$id" testkit orphans "$n"
  poll 30 runc_zombies_are "$id" "$n" || true
  assert_equal "$(runc_zombies "$id")" "$n" # zombies without reaper (PID 1 is sleep)
  runc_ kill "$id" KILL
  wait "$client" || true

  # A daemon left behind (own session, parent PID 1) writes its data to a bind-mounted
  # directory on SIGTERM, slowly (1 s): it is there once runc run has returned.
  id=r-flush
  data=$WORK/runc/flush-data
  mkdir -p "$data"
  runc_start "$id" --bind "$data:/data" -- /reaper -- sh -c '(setsid flushd /data &); exec sleep 1000'
  poll 20 test -s "$data/ready" || fail "flushd did not start"
  stop_with_timeout 9 "$client" runc_ kill "$id"
  say "runc kill TERM with flushd behind: the container ended after $(secs "$ms"), status $status; the directory holds: $(cat "$data/data" 2>/dev/null || echo '(no data)')"
  assert_equal "$(cut -d' ' -f1 "$data/data" 2>/dev/null)" "flushed" # data written before the container ended
  assert_faster "$ms" 9000 # the container's end (no SIGKILL)
  assert_equal "$status" 143 # runc run status

  clean_runc
}
