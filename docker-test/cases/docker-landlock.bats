#!/usr/bin/env bats
# runtime: Docker
BATS_TEST_TIMEOUT=180 # a hard limit; a passing run takes far less

load ../lib/common
load ../lib/landlock

# landlocked NAME [docker run options...]: the probe in a container of IMG_APP (reaper, as
# README.md's Dockerfile has it) confined by REAPER_WRITE_ALLOW and REAPER_EXEC_ALLOW,
# as a user of the image gives them; sets rc and out (what the container wrote).
landlocked() {
  local name=$1
  shift
  rc=0
  drun --name "$name" -e REAPER_WRITE_ALLOW=/data:/tmp -e REAPER_EXEC_ALLOW=/bin "$@" \
    "$IMG_APP" sh -c "$PROBE" >/dev/null 2>&1 || rc=$?
  out=$(docker logs "$name" 2>&1)
  said docker "$@"
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
  default_profile_answered Docker

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
