# title: crun via podman --runtime crun, reaper as ENTRYPOINT: exit statuses, podman stop, 1,000 orphans
# runtime: crun
# limit: 150

# crun 1.8 refuses a host whose cgroup v2 hierarchy (/sys/fs/cgroup/unified) holds a
# controller beside the v1 ones ("cgroups in hybrid mode not supported"), as these
# machines' does (hugetlb). The case runs in a mount namespace of its own in which that
# mount is gone: crun sees a plain cgroup v1 host, and the host is left as it is. Its
# podman (storage, conmon) lives and is cleaned up in that namespace too.

crun_clean() {
  podman rm -af -t 0 >/dev/null 2>&1 || true
  podman rmi -af >/dev/null 2>&1 || true
}

# crun_stop CID: times `podman stop CID` (10 s, then SIGKILL); sets ms and status.
crun_stop() {
  local t0
  t0=$(now_ms)
  podman stop "$1" >/dev/null
  ms=$(($(now_ms) - t0))
  status=$(podman inspect -f '{{.State.ExitCode}}' "$1")
}

run_case() {
  command -v podman >/dev/null || cannot_run "podman is missing"
  command -v crun >/dev/null || cannot_run "crun is missing"
  if [[ -z ${CRUN_MOUNT_NS:-} ]]; then
    CRUN_MOUNT_NS=1 exec unshare --mount --propagation private -- "$HERE/run" --case crun-podman-runtime
  fi
  if [[ -n $(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null) ]]; then
    say "cgroup v2 controllers beside v1: $(cat /sys/fs/cgroup/unified/cgroup.controllers); unmounted in this case's mount namespace"
    umount /sys/fs/cgroup/unified
  fi
  podman_env "$WORK/podman-crun" crun
  trap crun_clean EXIT
  local app=localhost/reaper-test-crun-app:$RUN plain=localhost/reaper-test-crun-plain:$RUN
  local out rc want cid ms status with n=1000 t0
  say "podman $(podman version -f '{{.Client.Version}}'); $(crun --version | head -n 1)"
  tar -C "$ROOTFS" -c . | podman import -q - "$plain" >/dev/null
  mkdir -p "$WORK/crun-app"
  cp "$BIN/reaper" "$WORK/crun-app/reaper"
  tar -C "$ROOTFS" -c . | tar -x -C "$WORK/crun-app"
  tar -C "$WORK/crun-app" -c . |
    podman import -q --change 'ENTRYPOINT ["/reaper", "--"]' --change 'CMD ["sh"]' - "$app" >/dev/null

  out=$(podman --runtime crun run --rm "$app" sh -c 'sha256sum /proc/1/exe; tr "\0" " " </proc/1/cmdline')
  say "PID 1: $(sed -n 2p <<<"$out")"
  expect_eq "sha256 of PID 1's executable" "$(sed -n 1p <<<"$out" | cut -d' ' -f1)" "$REAPER_SHA"
  for want in 0 3; do
    rc=0
    podman --runtime crun run --rm "$app" sh -c "exit $want" || rc=$?
    expect_eq "podman run status of sh -c 'exit $want'" "$rc" "$want"
  done
  rc=0
  out=$(podman --runtime crun run --rm "$app" no-such-command 2>&1) || rc=$?
  expect_eq "podman run status of a missing command" "$rc" 127
  expect_eq "reaper's message" "$out" "reaper: cannot run 'no-such-command': No such file or directory"

  # podman stop of an app without a SIGTERM handler: with reaper, and the control with no
  # init, which ignores SIGTERM until podman's SIGKILL 10 s later.
  cid=$(podman --runtime crun run -d "$app" sh -c 'sleep 1000')
  expect_eq "the container's OCI runtime" "$(podman inspect -f '{{.OCIRuntime}}' "$cid")" crun
  poll 20 podman_has_proc "$cid" 'sleep 1000' || notok "the app did not start"
  crun_stop "$cid"
  with=$ms
  # A generous bound: podman's own work varies (0.1 to 1.5 s seen); the control takes 10 s.
  expect_faster "podman stop with reaper" "$ms" 5000
  expect_eq "exit status after podman stop" "$status" 143
  cid=$(podman --runtime crun run -d "$plain" sh -c 'sleep 1000')
  poll 20 podman_has_proc "$cid" 'sleep 1000' || notok "the control did not start"
  crun_stop "$cid"
  if ((ms >= 9000)); then ok "podman stop without an init takes the full 10 s timeout ($(secs "$ms"))"; else notok "podman stop without an init took only $(secs "$ms"): the control is broken"; fi
  expect_eq "exit status without an init (SIGKILL)" "$status" 137
  say "measured: podman stop with reaper $(secs "$with") (143); without an init $(secs "$ms") (137)"

  # 1,000 orphans: reaper reaps them all, podman exec ps shows no zombie.
  cid=$(podman --runtime crun run -d -e REAPER_LOG=debug "$app" \
    sh -c "testkit orphans $n && touch /tmp/orphaned && exec sleep 1000")
  poll 30 podman exec "$cid" test -e /tmp/orphaned || notok "testkit orphans did not finish"
  t0=$(now_ms)
  poll 30 podman_reaped_are "$cid" "$n" || true
  poll 10 podman_zombies_are "$cid" 0 || true
  say "after $n orphans: $(podman_reaped "$cid") reaped by reaper (its debug log), $(podman_zombies "$cid") zombies, within $(secs $(($(now_ms) - t0)))"
  expect_eq "orphans reaped by reaper" "$(podman_reaped "$cid")" "$n"
  expect_eq "zombies in podman exec ps" "$(podman_zombies "$cid")" 0
  crun_stop "$cid"
  expect_eq "exit status after podman stop" "$status" 143
  # The control: PID 1 is sleep, and the orphans of a podman exec become its zombies.
  cid=$(podman --runtime crun run -d "$plain" sleep 1000)
  poll 20 podman_has_proc "$cid" 'sleep 1000' || notok "the control did not start"
  podman exec "$cid" testkit orphans "$n"
  poll 30 podman_zombies_are "$cid" "$n" || true
  expect_eq "zombies without reaper (PID 1 is sleep)" "$(podman_zombies "$cid")" "$n"
  finish
}

podman_reaped() { podman logs "$1" 2>&1 | { grep -c 'reaper: debug: reaped process' || true; }; }
podman_reaped_are() { [[ $(podman_reaped "$1") == "$2" ]]; }
