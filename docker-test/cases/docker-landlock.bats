#!/usr/bin/env bats
# runtime: Docker
BATS_TEST_TIMEOUT=180 # a hard limit; a passing run takes far less

load ../lib/common

# The app: a write beneath --write-allow's /data, one outside it, and the execution of a
# copy of busybox as /tmp/true (outside --exec-allow's /bin; unconfined it is `true`),
# each saying what happened.
PROBE='echo x > /data/f && echo "inside: written"
if echo y > /outside; then echo "outside: written"; else echo "outside: refused"; fi
cp /bin/busybox /tmp/true && /tmp/true; echo "exec outside: $?"'

# landlocked NAME [docker run options...]: the probe in a container of IMG_APP (reaper, as
# README.md's Dockerfile has it) confined by REAPER_WRITE_ALLOW and REAPER_EXEC_ALLOW,
# as a user of the image gives them; sets rc and out (what the container wrote).
landlocked() {
  local name=$1 line lines
  shift
  rc=0
  drun --name "$name" -e REAPER_WRITE_ALLOW=/data:/tmp -e REAPER_EXEC_ALLOW=/bin "$@" \
    "$IMG_APP" sh -c "$PROBE" >/dev/null 2>&1 || rc=$?
  out=$(docker logs "$name" 2>&1)
  say "docker run ${*:-(no option)} ... : status $rc, output:"
  mapfile -t lines <<<"$out"
  for line in "${lines[@]}"; do say "  | $line"; done
}

# confined_as_asked: the probe's output when Landlock was applied.
confined_as_asked() {
  grep -qxF "inside: written" <<<"$out" || fail "a write beneath --write-allow failed"
  { grep -qxF "outside: refused" <<<"$out" && grep -q "can't create /outside: Permission denied" <<<"$out"; } ||
    fail "a write outside --write-allow was not refused (Permission denied)"
  { grep -qxF "exec outside: 126" <<<"$out" && grep -q "/tmp/true: Permission denied" <<<"$out"; } ||
    fail "executing a file outside --exec-allow was not refused (Permission denied, 126)"
}

@test "docker-landlock: Landlock in a container: what Docker's default seccomp profile answers, a profile without the Landlock calls fails closed, and under examples/seccomp/landlock.json writes and executions outside the allowed paths fail" {
  need_docker
  local shipped=$ROOT/examples/seccomp/landlock.json without=$WORK/seccomp-no-landlock.json name rc out
  [[ -f $shipped ]] || cannot_run "$shipped is missing"
  # What an engine whose default profile predates the Landlock calls (Docker before
  # 20.10.13, 2022) gives: the shipped profile without them, so refused with EPERM.
  python3 - "$shipped" "$without" <<'EOT'
import json, sys
d = json.load(open(sys.argv[1]))
for s in d["syscalls"]:
    s["names"] = [n for n in s["names"] if not n.startswith("landlock_")]
json.dump(d, open(sys.argv[2], "w"))
EOT

  say "the engine's default seccomp profile (no --security-opt):"
  name=$(cname landlock-default)
  landlocked "$name"
  if ((rc == 2)) && grep -q '^reaper: --write-allow: cannot confine the app: ' <<<"$out"; then
    say "Docker's default profile refuses Landlock: reaper fails closed"
    refute grep -q 'inside: ' <<<"$out" # the app ran
  else
    # Docker 20.10.24's default profile lists the three calls (moby PR 43199).
    assert_equal "$rc" 0 # status under the default profile
    say "Docker's default profile allows Landlock"
    confined_as_asked
  fi

  say "a profile without the Landlock calls (Docker's default before 2022):"
  name=$(cname landlock-refused)
  landlocked "$name" --security-opt "seccomp=$without"
  assert_equal "$rc" 2 # status (fail closed)
  assert_equal "$out" \
    "reaper: --write-allow: cannot confine the app: Operation not permitted (see 'reaper --help')" # reaper's one line
  refute grep -q 'inside: \|outside: \|exec outside' <<<"$out" # the app ran
  name=$(cname landlock-best-effort)
  landlocked "$name" --security-opt "seccomp=$without" -e REAPER_SANDBOX_BEST_EFFORT=1
  assert_equal "$rc" 0 # status with REAPER_SANDBOX_BEST_EFFORT=1
  { grep -q '^reaper: warning: --write-allow: cannot confine the app: Operation not permitted; left out (--sandbox-best-effort)$' <<<"$out" &&
    grep -qxF "outside: written" <<<"$out" && grep -qxF "exec outside: 0" <<<"$out"; } ||
    fail "with --sandbox-best-effort: no warning, or the app was confined"

  say "the shipped profile, examples/seccomp/landlock.json:"
  name=$(cname landlock-shipped)
  landlocked "$name" --security-opt "seccomp=$shipped"
  assert_equal "$rc" 0 # status under the shipped profile
  confined_as_asked
}
