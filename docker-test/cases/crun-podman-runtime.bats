#!/usr/bin/env bats
# runtime: crun
BATS_TEST_TIMEOUT=150 # a hard limit; a passing run takes far less

load ../lib/common

# crun 1.8 refuses a host whose cgroup v2 hierarchy (/sys/fs/cgroup/unified) holds a
# controller beside the v1 ones ("cgroups in hybrid mode not supported"), as these
# machines' does (hugetlb). The checks run in a mount namespace of their own in which that
# mount is gone (in_mount_ns): crun sees a plain cgroup v1 host, and the host is left as it
# is. Its podman (storage, conmon) lives and is cleaned up in that namespace too.

crun_clean() {
  podman rm -af -t 0 >/dev/null 2>&1 || true
  podman rmi -af >/dev/null 2>&1 || true
}

# crun_stop CID: times `podman stop CID` (10 s, then SIGKILL); sets ms and status.
crun_stop() {
  timed ms podman stop "$1" >/dev/null
  status=$(podman inspect -f '{{.State.ExitCode}}' "$1")
}

podman_reaped() { podman logs "$1" 2>&1 | { grep -c 'reaper: debug: reaped process' || true; }; }
podman_reaped_are() { [[ $(podman_reaped "$1") == "$2" ]]; }

crun_checks() {
  if [[ -n $(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null) ]]; then
    say "cgroup v2 controllers beside v1: $(cat /sys/fs/cgroup/unified/cgroup.controllers); unmounted in this case's mount namespace"
    umount /sys/fs/cgroup/unified
  fi
  podman_env "$WORK/podman-crun" crun
  trap crun_clean EXIT
  local app=localhost/reaper-test-crun-app:$RUN plain=localhost/reaper-test-crun-plain:$RUN
  local out rc want cid ms status with n=1000
  say "podman $(podman version -f '{{.Client.Version}}'); $(crun --version | head -n 1)"
  tar -C "$ROOTFS" -c . | podman import -q - "$plain" >/dev/null
  mkdir -p "$WORK/crun-app"
  cp "$BIN/reaper" "$WORK/crun-app/reaper"
  tar -C "$ROOTFS" -c . | tar -x -C "$WORK/crun-app"
  tar -C "$WORK/crun-app" -c . |
    podman import -q --change 'ENTRYPOINT ["/reaper", "--"]' --change 'CMD ["sh"]' - "$app" >/dev/null

  out=$(podman --runtime crun run --rm "$app" sh -c 'sha256sum /proc/1/exe; tr "\0" " " </proc/1/cmdline')
  say "PID 1: $(sed -n 2p <<<"$out")"
  assert_equal "$(sed -n 1p <<<"$out" | cut -d' ' -f1)" "$REAPER_SHA" # sha256 of PID 1's executable
  for want in 0 3; do
    rc=0
    podman --runtime crun run --rm "$app" sh -c "exit $want" || rc=$?
    assert_equal "$rc" "$want" # podman run status of sh -c 'exit $want'
  done
  rc=0
  out=$(podman --runtime crun run --rm "$app" no-such-command 2>&1) || rc=$?
  assert_equal "$rc" 127 # podman run status of a missing command
  assert_equal "$out" "reaper: cannot run 'no-such-command': No such file or directory" # reaper's message

  # podman stop of an app without a SIGTERM handler: with reaper, and the control with no
  # init, which ignores SIGTERM until podman's SIGKILL 10 s later.
  cid=$(podman --runtime crun run -d "$app" sh -c 'sleep 1000')
  assert_equal "$(podman inspect -f '{{.OCIRuntime}}' "$cid")" crun # the container's OCI runtime
  poll 20 podman_has_proc "$cid" 'sleep 1000' || fail "the app did not start"
  crun_stop "$cid"
  with=$ms
  # A generous bound: podman's own work varies (0.1 to 1.5 s seen); the control takes 10 s.
  assert_faster "$ms" 5000 # podman stop with reaper
  assert_equal "$status" 143 # exit status after podman stop
  cid=$(podman --runtime crun run -d "$plain" sh -c 'sleep 1000')
  poll 20 podman_has_proc "$cid" 'sleep 1000' || fail "the control did not start"
  crun_stop "$cid"
  ((ms >= 9000)) || fail "podman stop without an init took only $(secs "$ms"): the control is broken"
  assert_equal "$status" 137 # exit status without an init (SIGKILL)
  say "measured: podman stop with reaper $(secs "$with") (143); without an init $(secs "$ms") (137)"

  # 1,000 orphans: reaper reaps them all, podman exec ps shows no zombie.
  cid=$(podman --runtime crun run -d -e REAPER_LOG=debug "$app" \
    sh -c "testkit orphans $n && touch /tmp/orphaned && exec sleep 1000")
  poll 30 podman exec "$cid" test -e /tmp/orphaned || fail "testkit orphans did not finish"
  timed ms poll 30 podman_reaped_are "$cid" "$n" || true
  poll 10 podman_zombies_are "$cid" 0 || true
  say "after $n orphans: $(podman_reaped "$cid") reaped by reaper (its debug log) within $(secs "$ms"), $(podman_zombies "$cid") zombies"
  assert_equal "$(podman_reaped "$cid")" "$n" # orphans reaped by reaper
  assert_equal "$(podman_zombies "$cid")" 0 # zombies in podman exec ps
  crun_stop "$cid"
  assert_equal "$status" 143 # exit status after podman stop
  # The control: PID 1 is sleep, and the orphans of a podman exec become its zombies.
  cid=$(podman --runtime crun run -d "$plain" sleep 1000)
  poll 20 podman_has_proc "$cid" 'sleep 1000' || fail "the control did not start"
  podman exec "$cid" testkit orphans "$n"
  poll 30 podman_zombies_are "$cid" "$n" || true
  assert_equal "$(podman_zombies "$cid")" "$n" # zombies without reaper (PID 1 is sleep)
}

@test "crun-podman-runtime: crun via podman --runtime crun, reaper as ENTRYPOINT: exit statuses, podman stop, 1,000 orphans" {
  command -v podman >/dev/null || cannot_run "podman is missing"
  command -v crun >/dev/null || cannot_run "crun is missing"
  in_mount_ns crun_checks
}
