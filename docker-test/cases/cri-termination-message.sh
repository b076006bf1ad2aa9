# title: containerd's CRI, the termination message: an app that fails leaves reaper's line in the host file mounted at /dev/termination-log, which the kubelet reads through ContainerStatus
# runtime: containerd (CRI)
# limit: 120

# The kubelet creates an empty file per container on the host and mounts it at the
# container's terminationMessagePath (/dev/termination-log by default). When the container
# has exited, it finds that mount in ContainerStatus and reads the file: that is the
# message `kubectl describe pod` shows as the last state. (containerd's own message field
# is for errors of its own: it stays empty.) reaper, the ENTRYPOINT, writes one line there
# when its app fails, and nothing when it succeeds.

# termination_run NAME ARGS...: a container of the pod running reaper -- ARGS with an empty
# termination-message file of its own mounted; waits until it has exited; sets id.
termination_run() {
  local name=$1 file=$WORK/termination-$1
  shift
  : >"$file"
  chmod 666 "$file"
  id=$(cri create "$pod" "$name" "$CRI_APP" --mount "$file:/dev/termination-log" -- "$@")
  cri start "$id"
  poll 30 cri_state_is "$id" EXITED || notok "$name did not exit"
}

run_case() {
  need_cri
  local pod id
  pod=$(cri runp termination)
  termination_run fails sh -c 'exit 3'
  say "ContainerStatus of a container whose app exited with 3:"
  cri status "$id" | sed 's/^/      /'
  expect_eq "exit code" "$(cri_field "$id" exit_code)" 3
  expect_eq "the termination message the kubelet reads" "$(cri_field "$id" termination_message)" 'exited with status 3\n'
  cri rm "$id"
  termination_run killed sh -c 'kill -KILL $$'
  expect_eq "exit code of an app killed by SIGKILL" "$(cri_field "$id" exit_code)" 137
  expect_eq "its termination message" "$(cri_field "$id" termination_message)" 'killed by SIGKILL\n'
  cri rm "$id"
  termination_run succeeds sh -c 'exit 0'
  expect_eq "exit code of an app that succeeds" "$(cri_field "$id" exit_code)" 0
  expect_eq "its termination message (none)" "$(cri_field "$id" termination_message)" ''
  cri rm "$id"
  cri stopp "$pod"
  cri rmp "$pod"
  cri_done
  finish
}
