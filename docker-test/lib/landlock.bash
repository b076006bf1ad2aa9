# docker-test/lib/landlock.bash: what docker-landlock and podman-landlock share (each
# loads it after ../lib/common): the probe they run under reaper's Landlock options, how
# its output is shown, and what it must say when Landlock was applied.

# The app: a write beneath --write-allow's /data, one outside it, and the execution of a
# copy of busybox as /tmp/true (outside --exec-allow's /bin; unconfined it is `true`),
# each saying what happened. All of it on stdout: the engine carries stdout and stderr as
# two streams and merges them at each write, and busybox writes "sh: " and the rest of an
# error line in two writes, so a line of stdout could land between them (seen once).
PROBE='exec 2>&1
echo x > /data/f && echo "inside: written"
if echo y > /outside; then echo "outside: written"; else echo "outside: refused"; fi
cp /bin/busybox /tmp/true && /tmp/true; echo "exec outside: $?"'

# said ENGINE OPTIONS...: shows how the probe ended ($rc) and what it wrote ($out).
said() {
  local engine=$1 line lines
  shift
  say "$engine run ${*:-(no option)} ... : status $rc, output:"
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

# default_profile_answered ENGINE: after the probe under the engine's default seccomp
# profile, either reaper failed closed (a profile that predates the Landlock calls) or
# Landlock was applied (Docker since 20.10.13, moby PR 43199; podman's containers-common
# since 2022, containers/common PR 1081).
default_profile_answered() {
  if ((rc == 2)) && grep -q '^reaper: --write-allow: cannot confine the app: ' <<<"$out"; then
    say "$1's default profile refuses Landlock: reaper fails closed"
    refute grep -q 'inside: ' <<<"$out" # the app ran
  else
    assert_equal "$rc" 0 # status under the default profile
    say "$1's default profile allows Landlock"
    confined_as_asked
  fi
}
