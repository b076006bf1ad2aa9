#!/usr/bin/env bats
# runtime: Docker
BATS_TEST_TIMEOUT=60 # a hard limit; a passing run takes far less

load ../lib/common

# The app, `testkit graceful /data`, counts the SIGTERMs it gets and treats the first as
# "shut down gracefully" (a second of clean-up, then a file on the volume) and a second as
# "quit now" (exit at once, no clean-up), as Node's process.once('SIGTERM') and
# controller-runtime do. It runs behind a wrapper shell (`sh -c 'app; ...'`, as most images
# start theirs), which dies of the forwarded SIGTERM at once: the teardown that follows
# must not send the app a second one.
@test "docker-stop-wrapper-shell-graceful: docker stop of an app behind a wrapper shell: one SIGTERM, its graceful shutdown completes" {
  need_docker
  local vol cid ms status terms cleanup
  vol=$(cname sigterm-once)
  docker volume create --label "$LABEL" "$vol" >/dev/null
  cid=$(drun -d -v "$vol:/data" "$IMG_APP" sh -c 'testkit graceful /data; echo the wrapper went on')
  poll 20 docker exec "$cid" test -e /data/up || fail "the app did not start"
  timed_stop "$cid"
  terms=$(drun --rm -v "$vol:/data" "$IMG_PLAIN" sh -c 'wc -l < /data/terms' 2>/dev/null || echo "?")
  cleanup=$(drun --rm -v "$vol:/data" "$IMG_PLAIN" cat /data/cleanup 2>/dev/null || echo "(none)")
  say "measured: docker stop took $(secs "$ms"), exit status $status, SIGTERMs the app got: $terms, clean-up: $cleanup"
  assert_equal "$(echo $terms)" 1 # SIGTERMs the app got
  assert_equal "$cleanup" "done" # the app's clean-up ran to the end
  assert_equal "$status" 143 # exit status (the wrapper shell's, killed by SIGTERM)
  assert_faster "$ms" 9000 # docker stop (no SIGKILL from docker)
}
