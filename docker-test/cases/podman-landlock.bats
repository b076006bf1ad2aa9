#!/usr/bin/env bats
# runtime: podman
BATS_TEST_TIMEOUT=180 # a hard limit; a passing run takes far less

load ../lib/common
load ../lib/landlock

# landlocked [podman run options...]: the probe under reaper (/reaper, as ENTRYPOINT),
# confined by REAPER_WRITE_ALLOW and REAPER_EXEC_ALLOW; sets rc and out.
landlocked() {
  rc=0
  out=$(podman run --rm -e REAPER_WRITE_ALLOW=/data:/tmp -e REAPER_EXEC_ALLOW=/bin "$@" \
    "$image" sh -c "$PROBE" 2>&1) || rc=$?
  said podman "$@"
}

@test "podman-landlock: Landlock under podman: what its default seccomp profile answers, and under examples/seccomp/landlock.json writes and executions outside the allowed paths fail" {
  command -v podman >/dev/null || cannot_run "podman is missing"
  podman_env "$WORK/podman" runc
  local shipped=$ROOT/examples/seccomp/landlock.json dir=$WORK/landlock-root rc out
  local image=localhost/reaper-test-landlock:$RUN
  [[ -f $shipped ]] || cannot_run "$shipped is missing"
  cp -a "$ROOTFS" "$dir"
  cp "$BIN/reaper" "$dir/reaper"
  tar -C "$dir" -c . | podman import -q -c 'ENTRYPOINT ["/reaper", "--"]' - "$image" >/dev/null
  say "podman $(podman version -f '{{.Client.Version}}'), runc; default profile: $(podman info -f '{{.Host.Security.SECCOMPProfilePath}}')"

  say "podman's default seccomp profile (no --security-opt):"
  landlocked
  default_profile_answered podman

  say "the shipped profile, examples/seccomp/landlock.json:"
  landlocked --security-opt "seccomp=$shipped"
  assert_equal "$rc" 0 # status under the shipped profile
  confined_as_asked
}
