#!/usr/bin/env bats
# runtime: Docker
BATS_TEST_TIMEOUT=120 # a hard limit; a passing run takes far less

load ../lib/common

# The container's memory limit, without swap: `testkit eat-memory` reaches it at once.
MEM=(--memory 64m --memory-swap 64m)

# termlog NAME: an empty file of the host's, to mount at /dev/termination-log as
# Kubernetes does.
termlog() {
  : >"$WORK/$1.termination-log"
  echo "$WORK/$1.termination-log"
}

# named LOGS: the line naming a process of testkit's that the killer killed; prints its pid.
named() { sed -n 's/^reaper: warning: process \([0-9]*\) (testkit) was killed by the out-of-memory killer$/\1/p' <<<"$1"; }

@test "docker-oom: docker run --memory: an out-of-memory kill is named, REAPER_ON_OOM=exit ends the container with 137, /dev/termination-log says why" {
  need_docker
  local name rc log logs pid
  say "Docker's cgroup version: $(docker info -f '{{.CgroupVersion}}' 2>/dev/null || echo unknown)"

  # 1. The app itself: 137 as ever, now with its name and the termination message.
  name=$(cname oom-app)
  log=$(termlog app)
  run -137 drun --name "$name" "${MEM[@]}" -v "$log:/dev/termination-log" "$IMG_APP" \
    testkit eat-memory # status of an app the out-of-memory killer killed
  logs=$(docker logs "$name" 2>&1)
  printf '%s\n' "$logs"
  [[ -n $(named "$logs") ]] || fail "no line naming the app"
  assert_equal "$(cat "$log")" "killed by the out-of-memory killer" # /dev/termination-log
  say "docker inspect .State.OOMKilled: $(docker inspect -f '{{.State.OOMKilled}}' "$name")"

  # 2. A worker (an orphan, reaper's to reap), by default: named, and the app goes on.
  name=$(cname oom-worker)
  # shellcheck disable=SC2016 # expanded by the container's shell
  run -3 drun --name "$name" "${MEM[@]}" "$IMG_APP" sh -c '
    sh -c "testkit eat-memory & echo \$! > /tmp/worker"
    i=0; while kill -0 "$(cat /tmp/worker)" 2>/dev/null; do
      i=$((i+1)); [ $i -lt 3000 ] || exit 98; sleep 0.01; done
    echo "worker $(cat /tmp/worker) is gone"; exit 3' # the app's own status: it went on
  logs=$(docker logs "$name" 2>&1)
  printf '%s\n' "$logs"
  pid=$(sed -n 's/^worker \([0-9]*\) is gone$/\1/p' <<<"$logs")
  assert_equal "$(named "$logs")" "${pid:-?}" # the process named

  # 3. REAPER_ON_OOM=exit: the same worker's death ends the container, through the
  # teardown (the app's SIGTERM handler runs), with 137 and the worker in the message.
  name=$(cname oom-exit)
  log=$(termlog exit)
  run -137 drun --name "$name" "${MEM[@]}" -e REAPER_ON_OOM=exit -v "$log:/dev/termination-log" \
    "$IMG_APP" sh -c '
    trap "echo the app got SIGTERM; exit 0" TERM
    sh -c "testkit eat-memory /tmp/go & echo \$! > /tmp/worker"
    : > /tmp/go
    while :; do sleep 1 & wait $!; done' # status with REAPER_ON_OOM=exit
  logs=$(docker logs "$name" 2>&1)
  printf '%s\n' "$logs"
  pid=$(named "$logs")
  [[ -n $pid ]] || fail "no line naming the worker"
  grep -qxF 'the app got SIGTERM' <<<"$logs" || fail "the app got no SIGTERM"
  assert_equal "$(cat "$log")" \
    "process ${pid:-?} (testkit) was killed by the out-of-memory killer" # /dev/termination-log
}
