#!/usr/bin/env bats
# runtime: podman
BATS_TEST_TIMEOUT=120 # a hard limit; a passing run takes far less

load ../lib/common

@test "podman-init-and-pod: podman: --init, and a pod whose infra process is reaper" {
  command -v podman >/dev/null || cannot_run "podman is missing"
  podman_env "$WORK/podman" runc
  local plain=localhost/reaper-test-plain:$RUN out cid ms pod infra image mnt
  say "podman $(podman version -f '{{.Client.Version}}'); containers.conf: $CONTAINERS_CONF"
  tar -C "$WORK/ctx/rootfs" -c . | podman import -q - "$plain" >/dev/null

  run --separate-stderr -3 podman run --rm --init --init-path="$BIN/reaper" "$plain" sh -c 'sha256sum /proc/1/exe; tr "\0" " " </proc/1/cmdline; exit 3'
  say "podman run --init --init-path=reaper: PID 1 is '${lines[1]}'"
  assert_equal "$(cut -d' ' -f1 <<<"${lines[0]}")" "$REAPER_SHA" # sha256 of PID 1's executable
  out=$(podman run --rm --init "$plain" sha256sum /proc/1/exe)
  assert_equal "${out%% *}" "$REAPER_SHA" # podman run --init with init_path in containers.conf: PID 1's sha256
  assert_init_stops_at_once podman "$plain"

  # A pod that shares its PID namespace: its infra process is PID 1 there.
  pod=reaper-test-$RUN-pod
  podman pod create --share pid --name "$pod" >/dev/null
  infra=$(podman pod inspect -f '{{.InfraContainerID}}' "$pod")
  image=$(podman inspect -f '{{.ImageName}}' "$infra")
  mnt=$(podman image mount "$image")
  say "pause image $image: entrypoint $(podman image inspect -f '{{.Config.Entrypoint}}' "$image"), files: $(cd "$mnt" && echo *)"
  assert_equal "$(sha256sum <"$mnt/catatonit" | cut -d' ' -f1)" "$REAPER_SHA" # sha256 of /catatonit in the pause image
  podman image unmount "$image" >/dev/null
  podman pod start "$pod" >/dev/null
  cid=$(podman run -d --pod "$pod" "$plain" sh -c 'testkit orphans 100 && touch /tmp/orphaned && exec sleep 1000')
  poll 30 podman exec "$cid" test -e /tmp/orphaned || fail "testkit orphans did not finish"
  poll 10 podman_zombies_are "$cid" 0 || true
  podman exec "$cid" ps -o pid,ppid,stat,args
  assert_equal "$(podman exec "$cid" cat /proc/1/cmdline | tr '\0' ' ')" "/catatonit -P " # PID 1 in the pod
  assert_equal "$(podman exec "$cid" sha256sum /proc/1/exe | cut -d' ' -f1)" "$REAPER_SHA" # sha256 of PID 1's executable
  assert_equal "$(podman_zombies "$cid")" 0 # zombies after 100 orphans
  timed ms podman pod stop "$pod" >/dev/null
  say "podman pod stop: $(secs "$ms")"
  assert_faster "$ms" 5000 # podman pod stop
  assert_equal "$(podman inspect -f '{{.State.ExitCode}}' "$cid")" 143 # the app's exit status
  assert_equal "$(podman inspect -f '{{.State.ExitCode}}' "$infra")" 0 # the infra's exit status
  assert_equal "$(podman logs "$infra" 2>&1)" "" # the infra's output
  assert_equal "$(podman pod inspect -f '{{.State}}' "$pod")" "Exited" # the pod's state
  podman pod rm "$pod" >/dev/null
}
