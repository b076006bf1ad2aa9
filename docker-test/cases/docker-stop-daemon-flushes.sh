# title: nothing lost on stop: an orphaned daemon flushes its data to a volume
# runtime: Docker
# limit: 60

# flushd_run IMAGE VOLUME STOP_ARGS: an app whose orphaned daemon (own session, parent
# PID 1) keeps its data in memory until SIGTERM; times `docker stop STOP_ARGS`.
flushd_run() {
  local image=$1 vol=$2 cid
  shift 2
  docker volume create --label "$LABEL" "$vol" >/dev/null
  cid=$(drun -d -v "$vol:/data" "$image" sh -c '(setsid flushd /data &); exec sleep 1000')
  poll 20 docker exec "$cid" test -s /data/ready || notok "flushd did not start"
  local pid
  pid=$(docker exec "$cid" cat /data/ready)
  say "flushd: $(docker exec "$cid" ps -o pid,ppid,pgid,sid,args | awk -v p="$pid" '$1 == p')"
  timed_stop "$cid" "$@"
  data=$(drun --rm -v "$vol:/data" "$IMG_PLAIN" cat /data/data 2>/dev/null || echo "(no data)")
}

run_case() {
  need_docker
  local ms status data
  flushd_run "$IMG_APP" "$(cname d-with)"
  say "with reaper: docker stop took $(secs "$ms"), exit status $status, the volume holds: $data"
  expect_eq "data written on docker stop" "${data%% *}" "flushed"
  expect_faster "docker stop (no SIGKILL from docker)" "$ms" 9000
  expect_eq "exit status" "$status" 143
  # The control: without reaper the daemon is killed with the namespace, its data lost.
  flushd_run "$IMG_PLAIN" "$(cname d-without)" -t 2
  say "control without reaper: docker stop -t 2 took $(secs "$ms"), exit status $status, the volume holds: $data"
  expect_eq "data without reaper" "$data" "(no data)"
  finish
}
