#!/usr/bin/env bats
# runtime: Docker
BATS_TEST_TIMEOUT=60 # a hard limit; a passing run takes far less

load ../lib/common

# flushd_run IMAGE VOLUME STOP_ARGS: an app whose orphaned daemon (own session, parent
# PID 1) keeps its data in memory until SIGTERM; times `docker stop STOP_ARGS`; sets ms,
# status and data (what the volume holds after).
flushd_run() {
  local image=$1 vol=$2 cid pid
  shift 2
  docker volume create --label "$LABEL" "$vol" >/dev/null
  cid=$(drun -d -v "$vol:/data" "$image" sh -c '(setsid flushd /data &); exec sleep 1000')
  poll 20 docker exec "$cid" test -s /data/ready || fail "flushd did not start"
  pid=$(docker exec "$cid" cat /data/ready)
  say "flushd: $(docker exec "$cid" ps -o pid,ppid,pgid,sid,args | awk -v p="$pid" '$1 == p')"
  timed_stop "$cid" "$@"
  data=$(drun --rm -v "$vol:/data" "$IMG_PLAIN" cat /data/data 2>/dev/null || echo "(no data)")
}

@test "docker-stop-daemon-flushes: nothing lost on stop: an orphaned daemon flushes its data to a volume" {
  need_docker
  local ms status data
  flushd_run "$IMG_APP" "$(cname d-with)"
  say "with reaper: docker stop took $(secs "$ms"), exit status $status, the volume holds: $data"
  assert_equal "${data%% *}" "flushed" # data written on docker stop
  assert_faster "$ms" 9000 # docker stop (no SIGKILL from docker)
  assert_equal "$status" 143 # exit status
  # The control: without reaper the daemon is killed with the namespace, its data lost.
  flushd_run "$IMG_PLAIN" "$(cname d-without)" -t 2
  say "control without reaper: docker stop -t 2 took $(secs "$ms"), exit status $status, the volume holds: $data"
  assert_equal "$data" "(no data)" # data without reaper
}
