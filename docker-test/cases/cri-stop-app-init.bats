#!/usr/bin/env bats
# runtime: containerd (CRI)
BATS_TEST_TIMEOUT=180 # a hard limit; a passing run takes far less

load ../lib/common

# A pod (its own PID namespace per container, as by default) whose container sets no
# command: (the image's ENTRYPOINT, /reaper --, runs) and args: sh -c 'sleep 1000', an app
# that does not handle SIGTERM. The kubelet stops it with StopContainer and the pod's
# terminationGracePeriodSeconds (10 s here): SIGTERM, then SIGKILL when it has passed.

@test "cri-stop-app-init: containerd's CRI, reaper as the container's ENTRYPOINT: StopContainer (10 s) ends an app without a SIGTERM handler at once with 143; without an init it takes the whole 10 s (137)" {
  need_cri
  local pod app plain with without id
  pod=$(cri runp stop)
  app=$(cri create "$pod" app "$CRI_APP" -- sh -c 'sleep 1000')
  cri start "$app"
  poll 20 cri_has_proc "$app" 'sleep 1000' || fail "the app did not start"
  assert_equal "$(cri exec "$app" -- cat /proc/1/cmdline | tr '\0' ' ')" "/reaper -- sh -c sleep 1000 " # PID 1 of the container (the image's ENTRYPOINT, then args:)
  with=$(cri stop "$app" 10)
  say "StopContainer (10 s) with reaper: $(secs "$with")"
  # A bound on a hang, not a speed claim (the figure is printed): docker-stop-fast allows 2 s too.
  assert_faster "$with" 2000 # StopContainer (10 s) with reaper
  assert_equal "$(cri_field "$app" exit_code)" 143 # exit code (ContainerStatus)
  assert_equal "$(cri_field "$app" reason)" Error # reason (ContainerStatus)

  # The control: the same app in the image without reaper; PID 1 is sh, which the kernel
  # does not let SIGTERM end.
  plain=$(cri create "$pod" plain "$CRI_PLAIN" -- sh -c 'sleep 1000')
  cri start "$plain"
  poll 20 cri_has_proc "$plain" 'sleep 1000' || fail "the control did not start"
  # (busybox's sh -c execs a lone command: PID 1 is sleep.)
  assert_equal "$(cri exec "$plain" -- cat /proc/1/cmdline | tr '\0' ' ')" "sleep 1000 " # PID 1 of the control
  without=$(cri stop "$plain" 10)
  ((without >= 10000)) || fail "without an init the container ended after $(secs "$without"): the control is broken"
  assert_equal "$(cri_field "$plain" exit_code)" 137 # the control's exit code (SIGKILL)
  say "measured: StopContainer (10 s) with reaper $(secs "$with") (143); without an init $(secs "$without") (137)"

  # The trap of doc/containers.md: a pod's command: replaces the image's ENTRYPOINT, and
  # the app is PID 1 without reaper; naming reaper in command: (examples/kubernetes/
  # pod.yaml) keeps it.
  id=$(cri create "$pod" replaced "$CRI_APP" --command sleep -- 1000)
  cri start "$id"
  poll 20 cri_has_proc "$id" 'sleep 1000' || fail "the container with command: [sleep] did not start"
  assert_equal "$(cri exec "$id" -- cat /proc/1/cmdline | tr '\0' ' ')" "sleep 1000 " # PID 1 with command: [sleep], args: ['1000'] (the ENTRYPOINT replaced)
  cri stop "$id" 0 >/dev/null
  cri rm "$id"
  id=$(cri create "$pod" named "$CRI_APP" --command /reaper --command -- -- sh -c 'sleep 1000')
  cri start "$id"
  poll 20 cri_has_proc "$id" 'sleep 1000' || fail "the container with command: [/reaper, --] did not start"
  assert_equal "$(cri exec "$id" -- cat /proc/1/cmdline | tr '\0' ' ')" "/reaper -- sh -c sleep 1000 " # PID 1 with command: [/reaper, --], args: [sh, -c, 'sleep 1000'] (pod.yaml)
  cri stop "$id" 0 >/dev/null
  cri rm "$id"

  cri rm "$app"
  cri rm "$plain"
  cri stopp "$pod"
  cri rmp "$pod"
  cri_done
}
