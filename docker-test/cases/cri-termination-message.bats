#!/usr/bin/env bats
# runtime: containerd (CRI)
BATS_TEST_TIMEOUT=120 # a hard limit; a passing run takes far less

load ../lib/common

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
  poll 30 cri_state_is "$id" EXITED || fail "$name did not exit"
}

@test "cri-termination-message: containerd's CRI, the termination message: an app that fails leaves reaper's line in the host file mounted at /dev/termination-log, which the kubelet reads through ContainerStatus" {
  need_cri
  local pod id
  pod=$(cri runp termination)
  termination_run fails sh -c 'exit 3'
  echo "ContainerStatus of a container whose app exited with 3:"
  cri status "$id"
  say "the termination message of an app that exited with 3: $(cri_field "$id" termination_message)"
  assert_equal "$(cri_field "$id" exit_code)" 3 # exit code
  assert_equal "$(cri_field "$id" termination_message)" 'exited with status 3\n' # the termination message the kubelet reads
  cri rm "$id"
  # shellcheck disable=SC2016 # $$ is the container's shell's
  termination_run killed sh -c 'kill -KILL $$'
  assert_equal "$(cri_field "$id" exit_code)" 137 # exit code of an app killed by SIGKILL
  assert_equal "$(cri_field "$id" termination_message)" 'killed by SIGKILL\n' # its termination message
  cri rm "$id"
  termination_run succeeds sh -c 'exit 0'
  assert_equal "$(cri_field "$id" exit_code)" 0 # exit code of an app that succeeds
  assert_equal "$(cri_field "$id" termination_message)" '' # its termination message (none)
  cri rm "$id"
  cri stopp "$pod"
  cri rmp "$pod"
  cri_done
}
