# title: containerd's CRI, a pod with shareProcessNamespace: the sandbox image is reaper alone (reaper --pause), PID 1 of the pod, and reaps an app's 1,000 orphans; each container stops at once
# runtime: containerd (CRI)
# limit: 240

# The calls a kubelet makes for a pod with shareProcessNamespace: true on the host
# network (cri-driver, one call per step), against a containerd whose sandbox_image is
# reaper alone: RunPodSandbox starts `reaper --pause` as PID 1 of the pod's PID namespace;
# the containers join it. The app container has no init of its own (its orphans go to the
# pod's PID 1); the sidecar runs reaper -- APP, a subreaper in the pod.

run_case() {
  need_cri
  local pod app side n=1000 ms t0
  pod=$(cri runp shared --share-pid)
  expect_eq "RunPodSandbox: the pod" "$(cri pod-status "$pod")" READY
  app=$(cri create "$pod" app "$CRI_PLAIN" --share-pid -- \
    sh -c "testkit orphans $n && touch /tmp/orphaned && exec sleep 1000")
  side=$(cri create "$pod" sidecar "$CRI_APP" --share-pid --env REAPER_LOG=debug -- \
    sh -c 'exec sleep 1000')
  cri start "$side"
  cri start "$app"
  poll 30 cri exec "$app" -- test -e /tmp/orphaned || notok "testkit orphans did not finish"
  t0=$(now_ms)
  poll 30 cri_zombies_are "$app" 0 || true
  say "the pod's PID namespace, seen from the app container (ExecSync of ps):"
  cri exec "$app" -- ps -o pid,ppid,stat,args | sed 's/^/      /'
  expect_eq "PID 1 of the pod" "$(cri exec "$app" -- cat /proc/1/cmdline | tr '\0' ' ')" "/reaper --pause "
  expect_eq "sha256 of PID 1's executable (the sandbox image's reaper)" \
    "$(cri exec "$app" -- sha256sum /proc/1/exe | cut -d' ' -f1)" "$REAPER_SHA"
  say "after $n orphans: $(cri_zombies "$app") zombies within $(secs $(($(now_ms) - t0)))"
  expect_eq "zombies in the pod (the sandbox's reaper reaped the $n orphans)" "$(cri_zombies "$app")" 0
  say "the sidecar's reaper: $(grep -E 'subreaper|warn' "$(cri_log shared sidecar)" | cut -d' ' -f4- | paste -sd'|')"
  if grep -q 'warn' "$(cri_log shared sidecar)"; then notok "the sidecar's reaper warns"; else ok "the sidecar's reaper gives no warning"; fi

  # The kubelet stops each container with the pod's grace period (10 s here), then the
  # sandbox.
  ms=$(cri stop "$app" 10)
  expect_faster "StopContainer app (10 s): the app (no init, not PID 1) ends" "$ms" 2000
  expect_eq "app's exit code (ContainerStatus)" "$(cri_field "$app" exit_code)" 143
  ms=$(cri stop "$side" 10)
  expect_faster "StopContainer sidecar (10 s, reaper -- sleep)" "$ms" 2000
  expect_eq "sidecar's exit code" "$(cri_field "$side" exit_code)" 143
  cri rm "$app"
  cri rm "$side"
  cri stopp "$pod"
  expect_eq "StopPodSandbox: the pod" "$(cri pod-status "$pod")" NOTREADY
  poll 10 cri_exited "$pod" || true
  say "the sandbox's reaper --pause ended with status $(cri_exit_status "$pod") (containerd's /tasks/exit event)"
  cri rmp "$pod"
  expect_eq "pods left after RemovePodSandbox" "$(cri pods)" ""

  # The control: a pod without shareProcessNamespace, whose container has no init (PID 1
  # is sleep); the same orphans, left by an ExecSync, stay its zombies.
  pod=$(cri runp control)
  app=$(cri create "$pod" app "$CRI_PLAIN" -- sleep 1000)
  cri start "$app"
  poll 20 cri_has_proc "$app" 'sleep 1000' || notok "the control did not start"
  cri exec "$app" -- testkit orphans "$n"
  poll 30 cri_zombies_are "$app" "$n" || true
  expect_eq "zombies without the shared namespace (PID 1 is sleep)" "$(cri_zombies "$app")" "$n"
  cri stop "$app" 0 >/dev/null
  cri rm "$app"
  cri stopp "$pod"
  cri rmp "$pod"

  cri_done
  finish
}
