# title: docker stop of an app behind a wrapper shell: one SIGTERM, its graceful shutdown completes
# runtime: Docker
# limit: 60

# The app counts the SIGTERMs it gets and treats the first as "shut down gracefully" (a
# second of clean-up, then a file on the volume) and a second as "quit now" (exit at once,
# no clean-up), as Node's process.once('SIGTERM') and controller-runtime do. It runs behind
# a wrapper shell (`sh -c 'app; ...'`, as most images start theirs), which dies of the
# forwarded SIGTERM at once: the teardown that follows must not send the app a second one.
run_case() {
  need_docker
  local vol cid ms status terms cleanup
  vol=$(cname sigterm-once)
  docker volume create --label "$LABEL" "$vol" >/dev/null
  drun --rm -i -v "$vol:/data" "$IMG_PLAIN" sh -c 'cat > /data/app.sh' <<'APP'
terms=0
trap 'terms=$((terms+1)); echo term >> /data/terms' TERM
touch /data/up
while [ "$terms" -eq 0 ]; do sleep 0.02; done
i=0
while [ "$i" -lt 50 ]; do
  [ "$terms" -ge 2 ] && exit 1
  sleep 0.02
  i=$((i+1))
done
echo done > /data/cleanup
APP
  cid=$(drun -d -v "$vol:/data" "$IMG_APP" sh -c 'sh /data/app.sh; echo the wrapper went on')
  poll 20 docker exec "$cid" test -e /data/up || notok "the app did not start"
  timed_stop "$cid"
  terms=$(drun --rm -v "$vol:/data" "$IMG_PLAIN" sh -c 'wc -l < /data/terms' 2>/dev/null || echo "?")
  cleanup=$(drun --rm -v "$vol:/data" "$IMG_PLAIN" cat /data/cleanup 2>/dev/null || echo "(none)")
  say "measured: docker stop took $(secs "$ms"), exit status $status, SIGTERMs the app got: $terms, clean-up: $cleanup"
  expect_eq "SIGTERMs the app got" "$(echo $terms)" 1
  expect_eq "the app's clean-up ran to the end" "$cleanup" "done"
  expect_eq "exit status (the wrapper shell's, killed by SIGTERM)" "$status" 143
  expect_faster "docker stop (no SIGKILL from docker)" "$ms" 9000
  finish
}
