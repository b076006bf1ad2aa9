# docker-test/lib/common.bash: what every case loads first (`load ../lib/common`):
# bats-support and bats-assert, the engines (engines.bash), and the helpers the cases
# share. How to write a case: doc/testing.md ("Writing a case").
#
# What docker-test/run gives every case (exported): WORK (removed after the run), RUN (this
# run's id), LABEL, BIN (reaper and testkit), ROOTFS (the test images' root: static
# busybox, testkit, flushd), REAPER_SHA, REAPER_VERSION, ROOT (the checkout); with a
# Docker engine, DOCKER_HOST and the images IMG_REAPER (the top-level Dockerfile), IMG_APP
# (reaper as ENTRYPOINT) and IMG_PLAIN (the same root without reaper).

bats_require_minimum_version 1.5.0 # run -N: the exit status a command must have
bats_load_library bats-support
bats_load_library bats-assert
# shellcheck source=docker-test/lib/engines.bash
source "$BATS_TEST_DIRNAME/../lib/engines.bash"

# Before each test: the run's set-up must have worked. A case that needs more defines a
# setup() of its own that calls this one (common_setup) first.
common_setup() {
  [[ -n ${WORK:-} ]] || fail "run the cases through docker-test/run, which sets them up"
  [[ -z ${SETUP_PROBLEM:-} ]] || cannot_run "$SETUP_PROBLEM"
}
setup() { common_setup; }

# After each case file, whether it passed, failed or timed out: what it may have left.
teardown_file() { clean_after_case; }

# say TEXT: a line of the case's output, shown whether it passes or fails (a TAP comment
# on bats' fd 3): what it measured. Everything else a case prints is shown when it fails.
say() { printf '# %s\n' "$*" >&3; }

# cannot_run WHY: the case cannot run here: it FAILS, saying why, and the run's summary
# names it; under docker-test/run --allow-skip it is SKIPPED instead (and the summary says
# so, in capitals).
cannot_run() {
  printf '%s: cannot run here: %s\n' "$(basename "$BATS_TEST_FILENAME" .bats)" "$*" >>"$CANNOT_RUN_FILE"
  [[ ${ALLOW_SKIP:-0} != 1 ]] || skip "cannot run here: $*"
  fail "cannot run here: $*"
}

# assert_faster MS LIMIT_MS: a duration (from timed) under a limit, both printed.
assert_faster() {
  (($1 < $2)) || fail "took $(secs "$1"), want under $(secs "$2")"
}

# in_mount_ns FUNCTION: runs FUNCTION of the case in a mount namespace of its own (private
# propagation), in a shell of its own that has every function of the case and stops at
# the first command that fails, as the test itself does.
in_mount_ns() {
  declare -f >"$BATS_TEST_TMPDIR/functions"
  unshare --mount --propagation private -- \
    bash -c 'source "$1"; set -eE; "$2"' bash "$BATS_TEST_TMPDIR/functions" "$1"
}

need_docker() {
  [[ ${DOCKER_READY:-} == 1 ]] || cannot_run "no Docker engine: ${DOCKER_PROBLEM:-unknown}"
  [[ ${IMAGES_READY:-} == 1 ]] || cannot_run "the test images could not be built: ${IMAGE_PROBLEM:-unknown}"
}

# need_cri: what the cri-* cases need, or cannot_run; then start_cri_containerd (from
# engines.bash) in $WORK/cri-containerd, and the versions. Sets cri_dir.
need_cri() {
  local what
  for what in containerd ctr runc python3 ip; do
    command -v "$what" >/dev/null || cannot_run "$what is missing"
  done
  [[ -x $BIN/cri-driver ]] || cannot_run "cri-driver was not built: ${CRI_PROBLEM:-unknown}"
  cri_dir=$WORK/cri-containerd
  start_cri_containerd "$cri_dir" || {
    tail -20 "$cri_dir/log"
    fail "containerd with the cri plugin did not start, or its images are not there"
  }
  # Every task's exit, as containerd records it (the sandbox's status is seen nowhere else).
  ctr events >"$cri_dir/events" 2>&1 3>&- &
  echo $! >"$cri_dir/events.pid"
  say "CRI: $(cri version); $(runc --version | head -n 1); containerd's own root, state and socket ($CRI_SOCKET)"
  say "sandbox_image: $CRI_PAUSE ($(cri image-status "$CRI_PAUSE" | cut -d' ' -f2-), /reaper alone, ENTRYPOINT [\"/reaper\", \"--pause\"])"
}
# cri_done: the end of a cri-* case, clean_cri_containerd of need_cri's containerd.
cri_done() { clean_cri_containerd "$cri_dir"; }

# A container made by this run: labelled, so that the clean-up finds it whatever happens.
drun() { docker run --label "$LABEL" "$@"; }
cname() { echo "reaper-test-$RUN-$1"; }
# timed_stop CID [ARGS...]: `docker stop ARGS CID`, timed; sets ms, and status from
# `docker wait`.
# shellcheck disable=SC2034 # ms and status are for the caller
timed_stop() {
  local cid=$1
  shift
  timed ms docker stop "$@" "$cid" >/dev/null
  status=$(docker wait "$cid")
}
# engine_has_proc ENGINE CONTAINER ARGS: a process with exactly these arguments runs in
# the container (ENGINE: docker or podman); has_proc is Docker's.
engine_has_proc() { "$1" exec "$2" ps -o args | grep -qxF -- "$3"; }
has_proc() { engine_has_proc docker "$@"; }
zombies() { docker exec "$1" ps -o stat | { grep -c '^Z' || true; }; }
no_zombies() { [[ $(zombies "$1") == 0 ]]; }
reaped_lines() { docker logs "$1" 2>&1 | { grep -c 'reaper: debug: reaped process' || true; }; }
reaped_are() { [[ $(reaped_lines "$1") == "$2" ]]; }
zombies_are() { [[ $(zombies "$1") == "$2" ]]; }
logs_have_line() { docker logs "$1" 2>&1 | grep -qxF -- "$2"; }
# count_reaped FILE: the processes reaper's debug log in FILE says it reaped.
count_reaped() { grep -c 'reaper: debug: reaped process' "$1" || true; }
reaped_in_are() { [[ $(count_reaped "$1") == "$2" ]]; }

# podman, with storage, runtime state and configuration of its own (podman_env).
podman_has_proc() { engine_has_proc podman "$@"; }
podman_zombies() { podman exec "$1" ps -o stat | { grep -c '^Z' || true; }; }
podman_zombies_are() { [[ $(podman_zombies "$1") == "$2" ]]; }

# stop_with_timeout SECS CLIENT_PID KILL_COMMAND...: what `docker stop`, `podman stop` and
# the kubelet do: `KILL_COMMAND... TERM`, then `KILL_COMMAND... KILL` if the container has
# not ended within SECS. CLIENT_PID is the attached client (`ctr run`, `runc run`), whose
# exit status is the container's. Sets ms (from SIGTERM to the end) and status.
# shellcheck disable=SC2034 # ms and status are for the caller
stop_with_timeout() {
  local secs=$1 client=$2
  shift 2
  timed ms term_then_kill "$secs" "$client" "$@"
  status=0
  wait "$client" || status=$?
}
term_then_kill() {
  local secs=$1 client=$2
  shift 2
  "$@" TERM
  if ! poll "$secs" gone "$client"; then
    "$@" KILL
    poll 10 gone "$client" || true
  fi
}

# init_path_checks INIT: a second dockerd whose daemon.json names INIT as its init-path:
# docker info names it without a warning, `docker run --init` runs it (by hash) as PID 1,
# passes a status through, and `docker stop` is fast. Stops that dockerd again.
init_path_checks() {
  local init=$1
  local dir=$WORK/dockerd-init out hash comm cmdline cid ms
  mkdir -p "$dir"
  printf '{\n  "init-path": "%s"\n}\n' "$init" >"$dir/daemon.json"
  start_dockerd "$dir" || {
    tail -20 "$dir/log"
    fail "the second dockerd did not start"
  }
  local -x DOCKER_HOST=unix://$dir/sock
  say "a second dockerd (own netns and directories), daemon.json: $(tr -d '\n' <"$dir/daemon.json")"
  out=$(docker info 2>&1)
  grep -E 'Init Binary|init version' <<<"$out" | sed 's/^ */# /' >&3
  assert_equal "$(docker info -f '{{.InitBinary}}')" "$init" # docker info: init binary
  assert_equal "$(docker info -f '{{.InitCommit.ID}}')" "${REAPER_VERSION##*git.}" # docker info: init version (reaper's commit)
  refute grep -iE 'warning.*(init|reaper)|(init|reaper).*warning' <<<"$out" # docker info warns about the init
  refute grep -iE '(init|reaper).*level=(warn|error)|level=(warn|error).*(init|reaper)' "$dir/log" # dockerd warns about the init

  docker build -q -f "$WORK/ctx/Dockerfile.plain" -t "$IMG_PLAIN" "$WORK/ctx" >/dev/null ||
    fail "cannot build the image on the second dockerd"
  out=$(docker run --rm --init "$IMG_PLAIN" sh -c 'cat /proc/1/comm; sha256sum /proc/1/exe; tr "\0" " " </proc/1/cmdline; echo; /sbin/docker-init --version')
  comm=$(sed -n 1p <<<"$out")
  hash=$(sed -n 2p <<<"$out" | cut -d' ' -f1)
  cmdline=$(sed -n 3p <<<"$out")
  say "docker run --init: PID 1 is '$cmdline' (comm $comm); /sbin/docker-init --version: $(sed -n 4p <<<"$out")"
  assert_equal "$hash" "$(sha256sum <"$init" | cut -d' ' -f1)" # sha256 of PID 1's executable
  run -3 docker run --rm --init "$IMG_PLAIN" sh -c 'exit 3'
  assert_init_stops_at_once docker "$IMG_PLAIN"
  stop_daemon "$dir"
}

# assert_init_stops_at_once ENGINE IMAGE: `ENGINE run -d --init IMAGE sh -c 'sleep 1000'`
# (ENGINE: docker or podman, its init set to reaper), then `ENGINE stop`: the app has no
# SIGTERM handler, but its init forwards SIGTERM: under 2 s, status 143.
assert_init_stops_at_once() {
  local engine=$1 image=$2 cid ms
  cid=$("$engine" run -d --init "$image" sh -c 'sleep 1000')
  poll 20 engine_has_proc "$engine" "$cid" 'sleep 1000' || fail "the app did not start"
  timed ms "$engine" stop "$cid" >/dev/null
  say "$engine stop with --init: $(secs "$ms")"
  assert_faster "$ms" 2000 # ENGINE stop with --init
  assert_equal "$("$engine" wait "$cid")" 143 # exit status
}
