# title: podman: --init, and a pod whose infra process is reaper
# runtime: podman
# limit: 120

run_case() {
  command -v podman >/dev/null || cannot_run "podman is missing"
  podman_env "$WORK/podman" runc
  local plain=localhost/reaper-test-plain:$RUN out rc cid t0 ms pod infra image mnt
  say "podman $(podman version -f '{{.Client.Version}}'); containers.conf: $CONTAINERS_CONF"
  tar -C "$WORK/ctx/rootfs" -c . | podman import -q - "$plain" >/dev/null

  out=$(podman run --rm --init --init-path="$BIN/reaper" "$plain" sh -c 'sha256sum /proc/1/exe; tr "\0" " " </proc/1/cmdline; exit 3') && rc=0 || rc=$?
  say "podman run --init --init-path=reaper: PID 1 is '$(sed -n 2p <<<"$out")'"
  expect_eq "sha256 of PID 1's executable" "$(sed -n 1p <<<"$out" | cut -d' ' -f1)" "$REAPER_SHA"
  expect_eq "status of sh -c 'exit 3'" "$rc" 3
  out=$(podman run --rm --init "$plain" sha256sum /proc/1/exe)
  expect_eq "podman run --init with init_path in containers.conf: PID 1's sha256" "${out%% *}" "$REAPER_SHA"
  cid=$(podman run -d --init "$plain" sh -c 'sleep 1000')
  poll 20 podman_has_proc "$cid" 'sleep 1000' || notok "the app did not start"
  t0=$(now_ms)
  podman stop "$cid" >/dev/null
  ms=$(($(now_ms) - t0))
  expect_faster "podman stop with --init" "$ms" 2000
  expect_eq "exit status" "$(podman inspect -f '{{.State.ExitCode}}' "$cid")" 143
  podman rm "$cid" >/dev/null

  # A pod that shares its PID namespace: its infra process is PID 1 there.
  pod=reaper-test-$RUN-pod
  podman pod create --share pid --name "$pod" >/dev/null
  infra=$(podman pod inspect -f '{{.InfraContainerID}}' "$pod")
  image=$(podman inspect -f '{{.ImageName}}' "$infra")
  mnt=$(podman image mount "$image")
  say "pause image $image: entrypoint $(podman image inspect -f '{{.Config.Entrypoint}}' "$image"), files: $(cd "$mnt" && echo *)"
  expect_eq "sha256 of /catatonit in the pause image" "$(sha256sum <"$mnt/catatonit" | cut -d' ' -f1)" "$REAPER_SHA"
  podman image unmount "$image" >/dev/null
  podman pod start "$pod" >/dev/null
  cid=$(podman run -d --pod "$pod" "$plain" sh -c 'testkit orphans 100 && touch /tmp/orphaned && exec sleep 1000')
  poll 30 podman exec "$cid" test -e /tmp/orphaned || notok "testkit orphans did not finish"
  poll 10 podman_zombies_are "$cid" 0 || true
  podman exec "$cid" ps -o pid,ppid,stat,args | sed 's/^/      /'
  expect_eq "PID 1 in the pod" "$(podman exec "$cid" cat /proc/1/cmdline | tr '\0' ' ')" "/catatonit -P "
  expect_eq "sha256 of PID 1's executable" "$(podman exec "$cid" sha256sum /proc/1/exe | cut -d' ' -f1)" "$REAPER_SHA"
  expect_eq "zombies after 100 orphans" "$(podman_zombies "$cid")" 0
  t0=$(now_ms)
  podman pod stop "$pod" >/dev/null
  ms=$(($(now_ms) - t0))
  expect_faster "podman pod stop" "$ms" 5000
  expect_eq "the app's exit status" "$(podman inspect -f '{{.State.ExitCode}}' "$cid")" 143
  expect_eq "the infra's exit status" "$(podman inspect -f '{{.State.ExitCode}}' "$infra")" 0
  expect_eq "the infra's output" "$(podman logs "$infra" 2>&1)" ""
  expect_eq "the pod's state" "$(podman pod inspect -f '{{.State}}' "$pod")" "Exited"
  podman pod rm "$pod" >/dev/null
  finish
}
