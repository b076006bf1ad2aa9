#!/usr/bin/env bats
# runtime: containerd
BATS_TEST_TIMEOUT=150 # a hard limit; a passing run takes far less

load ../lib/common

# The test images, from `docker save`, in a containerd of this case's own (its root,
# state and sockets below $WORK/containerd; not the one under dockerd), in a namespace of
# this run's. `ctr run` stays attached: its exit status is the task's. Its command
# replaces the image's ENTRYPOINT and CMD both (unlike `docker run`, as a pod's `command:`
# does), so each one names /reaper, as README's pod.yaml does.

ctr_exec() { ctr task exec --exec-id "x$(date +%s%N)" "$@"; }
ctr_kill() { ctr task kill -s "SIG$2" "$1"; }
ctr_has_proc() { ctr_exec "$1" ps -o args | grep -qxF -- "$2"; }
ctr_zombies() { ctr_exec "$1" ps -o stat | { grep -c '^Z' || true; }; }
ctr_zombies_are() { [[ $(ctr_zombies "$1") == "$2" ]]; }

# ctr_start NAME CTR_RUN_ARG...: `ctr run --rm CTR_RUN_ARG...` (options, image, container
# id, command) in the background, its output in $WORK/NAME.out; sets client to its pid.
ctr_start() {
  local id=$1
  shift
  ctr run --rm "$@" </dev/null >"$WORK/$id.out" 2>&1 3>&- &
  client=$!
}

@test "containerd-ctr-run: containerd driven by ctr, as a Kubernetes node's runtime: exit statuses, ctr task kill, 1,000 orphans, a daemon's data on stop" {
  need_docker
  command -v containerd >/dev/null || cannot_run "containerd is missing"
  command -v ctr >/dev/null || cannot_run "ctr is missing"
  local dir=$WORK/containerd app plain id want client ms status with n=1000 data
  start_containerd "$dir" || {
    tail -20 "$dir/log"
    fail "containerd did not start"
  }
  say "$(containerd --version); ctr $(ctr version | awk '/Version:/ { print $2; exit }'); $(runc --version | head -n 1) (containerd-shim-runc-v2)"
  say "containerd of its own: --address $CONTAINERD_ADDRESS, namespace $CONTAINERD_NAMESPACE"
  docker save -o "$WORK/images.tar" "$IMG_APP" "$IMG_PLAIN"
  ctr image import "$WORK/images.tar" >/dev/null
  app=docker.io/$IMG_APP
  plain=docker.io/$IMG_PLAIN
  say "imported: $(ctr image ls -q | paste -sd' ')"

  # The exit status comes back through ctr run; reaper, the image's ENTRYPOINT, is PID 1.
  run -0 ctr run --rm "$app" "c-pid1-$RUN" /reaper -- sh -c 'cat /proc/1/comm; tr "\0" " " </proc/1/cmdline | cut -d" " -f1-3'
  assert_equal "$(paste -sd'|' <<<"$output")" "reaper|/reaper -- sh" # PID 1 (comm; its first arguments)
  for want in 0 3; do
    run "-$want" ctr run --rm "$app" "c-exit$want-$RUN" /reaper -- sh -c "exit $want"
  done
  run -127 ctr run --rm "$app" "c-missing-$RUN" /reaper -- no-such-command # a missing command
  assert_output "reaper: cannot run 'no-such-command': No such file or directory" # reaper's message

  # ctr task kill -s TERM of an app without a SIGTERM handler; the control, with no init,
  # ignores SIGTERM until the SIGKILL that follows 5 s later (a kubelet waits 30 s).
  id=c-stop-$RUN
  ctr_start "$id" "$app" "$id" /reaper -- sh -c 'sleep 1000'
  poll 20 ctr_has_proc "$id" 'sleep 1000' || fail "the app did not start"
  stop_with_timeout 5 "$client" ctr_kill "$id"
  with=$ms
  # Under the 5 s after which SIGKILL follows (and the status says which ended it).
  assert_faster "$ms" 4000 # ctr task kill -s TERM with reaper: the task ends
  assert_equal "$status" 143 # ctr run status after SIGTERM
  id=c-stop-plain-$RUN
  ctr_start "$id" "$plain" "$id" sh -c 'sleep 1000'
  poll 20 ctr_has_proc "$id" 'sleep 1000' || fail "the control did not start"
  stop_with_timeout 5 "$client" ctr_kill "$id"
  ((ms >= 5000)) || fail "without an init the task ended after $(secs "$ms"): the control is broken"
  assert_equal "$status" 137 # ctr run status without an init (SIGKILL)
  say "measured: stop with reaper $(secs "$with") (143); without an init $(secs "$ms") (5 s timeout, then SIGKILL: 137)"

  # 1,000 orphans: reaper reaps them all, ps in the task shows no zombie.
  id=c-orphans-$RUN
  ctr_start "$id" --env REAPER_LOG=debug "$app" "$id" \
    /reaper -- sh -c "testkit orphans $n && touch /tmp/orphaned && exec sleep 1000"
  poll 30 ctr_exec "$id" test -e /tmp/orphaned || fail "testkit orphans did not finish"
  timed ms poll 30 reaped_in_are "$WORK/$id.out" "$n" || true
  poll 10 ctr_zombies_are "$id" 0 || true
  say "after $n orphans: $(count_reaped "$WORK/$id.out") reaped by reaper (its debug log) within $(secs "$ms"), $(ctr_zombies "$id") zombies"
  assert_equal "$(count_reaped "$WORK/$id.out")" "$n" # orphans reaped by reaper
  assert_equal "$(ctr_zombies "$id")" 0 # zombies in ctr task exec ps
  stop_with_timeout 5 "$client" ctr_kill "$id"
  assert_equal "$status" 143 # ctr run status after SIGTERM
  # The control: PID 1 is sleep, and the orphans of a ctr task exec become its zombies.
  id=c-orphans-plain-$RUN
  ctr_start "$id" "$plain" "$id" sleep 1000
  poll 20 ctr_has_proc "$id" 'sleep 1000' || fail "the control did not start"
  ctr_exec "$id" testkit orphans "$n"
  poll 30 ctr_zombies_are "$id" "$n" || true
  assert_equal "$(ctr_zombies "$id")" "$n" # zombies without reaper (PID 1 is sleep)
  ctr_kill "$id" KILL
  wait "$client" || true

  # A daemon left behind (own session, parent PID 1) writes its data to a mounted
  # directory on SIGTERM, slowly (1 s): it is there once ctr run has returned.
  id=c-flush-$RUN
  data=$WORK/c-flush-data
  mkdir -p "$data"
  ctr_start "$id" --mount "type=bind,src=$data,dst=/data,options=rbind:rw" "$app" "$id" \
    /reaper -- sh -c '(setsid flushd /data &); exec sleep 1000'
  poll 20 test -s "$data/ready" || fail "flushd did not start"
  stop_with_timeout 9 "$client" ctr_kill "$id"
  say "ctr task kill -s TERM with flushd behind: the task ended after $(secs "$ms"), status $status; the directory holds: $(cat "$data/data" 2>/dev/null || echo '(no data)')"
  assert_equal "$(cut -d' ' -f1 "$data/data" 2>/dev/null)" "flushed" # data written before the task ended
  assert_faster "$ms" 9000 # the task's end (no SIGKILL)
  assert_equal "$status" 143 # ctr run status

  clean_containerd "$dir"
}
