#!/usr/bin/env bats
# runtime: containerd (CRI)
BATS_TEST_TIMEOUT=240 # a hard limit; a passing run takes far less

load ../lib/common

# The calls a kubelet makes for a pod with shareProcessNamespace: true on the host
# network (cri-driver, one call per step), against a containerd whose sandbox_image is
# reaper alone: RunPodSandbox starts `reaper --pause` as PID 1 of the pod's PID namespace;
# the containers join it. The app container has no init of its own (its orphans go to the
# pod's PID 1); the sidecar runs reaper -- APP, a subreaper in the pod.

@test "cri-shared-pid-sandbox: containerd's CRI, a pod with shareProcessNamespace: the sandbox image is reaper alone (reaper --pause), PID 1 of the pod, and reaps an app's 1,000 orphans; each container stops at once" {
  need_cri
  local pod app side n=1000 ms
  pod=$(cri runp shared --share-pid)
  assert_equal "$(cri pod-status "$pod")" READY # RunPodSandbox: the pod
  app=$(cri create "$pod" app "$CRI_PLAIN" --share-pid -- \
    sh -c "testkit orphans $n && touch /tmp/orphaned && exec sleep 1000")
  side=$(cri create "$pod" sidecar "$CRI_APP" --share-pid --env REAPER_LOG=debug -- \
    sh -c 'exec sleep 1000')
  cri start "$side"
  cri start "$app"
  poll 30 cri exec "$app" -- test -e /tmp/orphaned || fail "testkit orphans did not finish"
  timed ms poll 30 cri_zombies_are "$app" 0 || true
  echo "the pod's PID namespace, seen from the app container (ExecSync of ps):"
  cri exec "$app" -- ps -o pid,ppid,stat,args
  assert_equal "$(cri exec "$app" -- cat /proc/1/cmdline | tr '\0' ' ')" "/reaper --pause " # PID 1 of the pod
  assert_equal "$(cri exec "$app" -- sha256sum /proc/1/exe | cut -d' ' -f1)" "$REAPER_SHA" # sha256 of PID 1's executable (the sandbox image's reaper)
  say "after $n orphans: $(cri_zombies "$app") zombies within $(secs "$ms")"
  assert_equal "$(cri_zombies "$app")" 0 # zombies in the pod (the sandbox's reaper reaped the $n orphans)
  say "the sidecar's reaper: $(grep -E 'subreaper|warn' "$(cri_log shared sidecar)" | cut -d' ' -f4- | paste -sd'|')"
  refute grep -q 'warn' "$(cri_log shared sidecar)" # the sidecar's reaper warns

  # The kubelet stops each container with the pod's grace period (10 s here), then the
  # sandbox.
  ms=$(cri stop "$app" 10)
  say "StopContainer app (10 s): $(secs "$ms")"
  assert_faster "$ms" 2000 # StopContainer app (10 s): the app (no init, not PID 1) ends
  assert_equal "$(cri_field "$app" exit_code)" 143 # app's exit code (ContainerStatus)
  ms=$(cri stop "$side" 10)
  say "StopContainer sidecar (10 s, reaper -- sleep): $(secs "$ms")"
  assert_faster "$ms" 2000 # StopContainer sidecar (10 s, reaper -- sleep)
  assert_equal "$(cri_field "$side" exit_code)" 143 # sidecar's exit code
  cri rm "$app"
  cri rm "$side"
  cri stopp "$pod"
  assert_equal "$(cri pod-status "$pod")" NOTREADY # StopPodSandbox: the pod
  poll 10 cri_exited "$pod" || true
  say "the sandbox's reaper --pause ended with status $(cri_exit_status "$pod") (containerd's /tasks/exit event)"
  cri rmp "$pod"
  assert_equal "$(cri pods)" "" # pods left after RemovePodSandbox

  # The control: a pod without shareProcessNamespace, whose container has no init (PID 1
  # is sleep); the same orphans, left by an ExecSync, stay its zombies.
  pod=$(cri runp control)
  app=$(cri create "$pod" app "$CRI_PLAIN" -- sleep 1000)
  cri start "$app"
  poll 20 cri_has_proc "$app" 'sleep 1000' || fail "the control did not start"
  cri exec "$app" -- testkit orphans "$n"
  poll 30 cri_zombies_are "$app" "$n" || true
  say "the control (no shared namespace, PID 1 is sleep): $(cri_zombies "$app") zombies after $n orphans"
  assert_equal "$(cri_zombies "$app")" "$n" # zombies without the shared namespace (PID 1 is sleep)
  cri stop "$app" 0 >/dev/null
  cri rm "$app"
  cri stopp "$pod"
  cri rmp "$pod"

  cri_done
}
