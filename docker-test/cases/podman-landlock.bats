#!/usr/bin/env bats
# runtime: podman
BATS_TEST_TIMEOUT=180 # a hard limit; a passing run takes far less

load ../lib/common

# The same probe as docker-landlock: a write beneath /data, one outside, and the execution
# of a copy of busybox as /tmp/true (outside /bin).
PROBE='echo x > /data/f && echo "inside: written"
if echo y > /outside; then echo "outside: written"; else echo "outside: refused"; fi
cp /bin/busybox /tmp/true && /tmp/true; echo "exec outside: $?"'

# landlocked [podman run options...]: the probe under reaper (/reaper, as ENTRYPOINT),
# confined by REAPER_WRITE_ALLOW and REAPER_EXEC_ALLOW; sets rc and out.
landlocked() {
  local line lines
  rc=0
  out=$(podman run --rm -e REAPER_WRITE_ALLOW=/data:/tmp -e REAPER_EXEC_ALLOW=/bin "$@" \
    "$image" sh -c "$PROBE" 2>&1) || rc=$?
  say "podman run ${*:-(no option)} ... : status $rc, output:"
  mapfile -t lines <<<"$out"
  for line in "${lines[@]}"; do say "  | $line"; done
}

confined_as_asked() {
  grep -qxF "inside: written" <<<"$out" || fail "a write beneath --write-allow failed"
  { grep -qxF "outside: refused" <<<"$out" && grep -q "can't create /outside: Permission denied" <<<"$out"; } ||
    fail "a write outside --write-allow was not refused (Permission denied)"
  { grep -qxF "exec outside: 126" <<<"$out" && grep -q "/tmp/true: Permission denied" <<<"$out"; } ||
    fail "executing a file outside --exec-allow was not refused (Permission denied, 126)"
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
  if ((rc == 2)) && grep -q '^reaper: --write-allow: cannot confine the app: ' <<<"$out"; then
    say "podman's default profile refuses Landlock: reaper fails closed"
    refute grep -q 'inside: ' <<<"$out" # the app ran
  else
    # containers-common lists the three calls since 2022 (containers/common PR 1081).
    assert_equal "$rc" 0 # status under the default profile
    say "podman's default profile allows Landlock"
    confined_as_asked
  fi

  say "the shipped profile, examples/seccomp/landlock.json:"
  landlocked --security-opt "seccomp=$shipped"
  assert_equal "$rc" 0 # status under the shipped profile
  confined_as_asked
}
