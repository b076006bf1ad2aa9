#!/usr/bin/env bats
# runtime: Docker
BATS_TEST_TIMEOUT=120 # a hard limit; a passing run takes far less

load ../lib/common

# The app says which ending signal it got, and ends well on it (status 0): a status of
# 137 is docker's SIGKILL after its timeout.
APP='trap "echo got-term; exit 0" TERM; trap "echo got-int; exit 0" INT; echo serving; while :; do sleep 0.05; done'

# logs_have CID LINE: the container's output has LINE. grep reads to the end (no -q):
# under pipefail, `docker logs` killed by SIGPIPE after an early match would fail it.
logs_have() { docker logs "$1" 2>&1 | grep -cxF -- "$2" >/dev/null; }
# logs_mention CID TEXT: a line of the container's output holds TEXT.
logs_mention() { docker logs "$1" 2>&1 | grep -cF -- "$2" >/dev/null; }

# start DELAY: the app under reaper with REAPER_STOP_DELAY=DELAY; sets cid.
start() {
  cid=$(drun -d -e REAPER_STOP_DELAY="$1" -e REAPER_LOG=info "$IMG_APP" sh -c "$APP")
  poll 20 logs_have "$cid" serving || fail "the app did not start"
}

# int_and_wait CID: `docker kill -s INT CID`, then `docker wait`; sets status.
int_and_wait() {
  docker kill -s INT "$1" >/dev/null
  status=$(docker wait "$1")
}

@test "docker-stop-delay: --stop-delay: docker stop's SIGTERM reaches the app only after the delay, within docker's timeout" {
  need_docker
  local cid ms status
  # 1. docker stop -t 10 with a 2 s delay: the app serves 2 s more, then ends on SIGTERM.
  start 2s
  timed_stop "$cid" -t 10
  say "docker stop -t 10 with --stop-delay 2s: $(secs "$ms"), exit status $status"
  ((ms >= 2000)) || fail "docker stop took only $(secs "$ms"): SIGTERM was not held 2 s"
  assert_equal "$status" 0 # exit status (the app ended on SIGTERM, before docker's SIGKILL)
  logs_have "$cid" got-term || fail "the app never got SIGTERM"
  logs_mention "$cid" 'SIGTERM received: forwarding it in 2s (--stop-delay)' || fail "no line from reaper about the delay"
  # 2. The delay counts against docker's timeout: -t 1 with a 2 s delay ends in SIGKILL.
  start 2s
  timed_stop "$cid" -t 1
  say "docker stop -t 1 with --stop-delay 2s: $(secs "$ms"), exit status $status"
  assert_equal "$status" 137 # exit status (docker's SIGKILL came during the delay)
  # 3. A second ending signal during the delay goes at once (an hour's delay: only that
  #    ends the container within the case's limit).
  start 1h
  docker kill -s TERM "$cid" >/dev/null
  poll 20 logs_mention "$cid" 'forwarding it in 3600s' || fail "reaper did not hold SIGTERM"
  timed ms int_and_wait "$cid"
  say "SIGINT during the delay: the container ended $(secs "$ms") after it"
  assert_equal "$status" 0 # exit status (the app ended on SIGINT)
  logs_have "$cid" got-int || fail "the app never got SIGINT"
  refute logs_have "$cid" got-term # the held SIGTERM was forwarded too
}
