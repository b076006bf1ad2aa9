#!/usr/bin/env bats
# runtime: Docker
BATS_TEST_TIMEOUT=90 # a hard limit; a passing run takes far less

load ../lib/common

# The app handles SIGTERM (a stopped process keeps a handled signal pending until it is
# continued; only a default fatal one would kill it while stopped), and ends by SIGTERM
# from its handler: status 143.
APP='trap "trap - TERM; kill -TERM \$\$" TERM; sleep 1000 & wait'

# app_pid CID: the app's pid inside the container (`docker kill -s STOP` would stop PID 1,
# reaper, which cannot be stopped from inside its namespace anyway).
app_pid() {
  docker exec "$1" ps -o pid,args | awk -v app="sh -c $APP" '{ p = $1; $1 = ""; sub(/^ /, ""); if ($0 == app) print p }'
}
app_stopped() { [[ $(docker exec "$1" ps -o pid,stat | awk -v p="$2" '$1 == p { print substr($2, 1, 1) }') == T ]]; }

# stop_stopped ENTRYPOINT_ARGS...: starts the app, stops it with SIGSTOP, times
# `docker stop`; sets ms and status.
stop_stopped() {
  local cid pid
  cid=$(drun -d "$@" sh -c "$APP")
  poll 20 has_proc "$cid" 'sleep 1000' || fail "the app did not start"
  pid=$(app_pid "$cid")
  [[ -n $pid ]] || fail "cannot find the app's pid"
  docker exec "$cid" kill -STOP "$pid"
  poll 20 app_stopped "$cid" "$pid" || fail "the app did not stop"
  timed_stop "$cid"
}

@test "docker-stop-stopped-app: docker stop of an app stopped with SIGSTOP: reaper continues it, so it ends at once" {
  need_docker
  local ms status
  stop_stopped "$IMG_APP"
  say "docker stop of a stopped app with reaper: $(secs "$ms"), exit status $status"
  # Without the SIGCONT, docker waits its 10 s timeout and kills (137).
  assert_faster "$ms" 5000 # docker stop of a stopped app
  assert_equal "$status" 143 # exit status (the app's handler ended it by SIGTERM)
  # A measurement for comparison, when given another reaper binary (static), such as
  # the one from before this check existed: REAPER_COMPARE_BIN=/path/to/reaper.
  if [[ -n ${REAPER_COMPARE_BIN:-} ]]; then
    stop_stopped -v "$REAPER_COMPARE_BIN:/reaper-compare:ro" --entrypoint /reaper-compare "$IMG_PLAIN" --
    say "measured: with $REAPER_COMPARE_BIN: $(secs "$ms"), exit status $status"
  fi
}
