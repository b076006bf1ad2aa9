# title: without CAP_KILL, an app of another user cannot be signalled: reaper says so at start and on docker stop, once
# runtime: Docker
# limit: 90

run_case() {
  need_docker
  local cid ms status logs refused
  # The hardened container of issue 19: every capability dropped but the two --user needs.
  cid=$(drun -d --cap-drop ALL --cap-add SETUID --cap-add SETGID --entrypoint /reaper \
    "$IMG_APP" -t 1 --user 1000 -- sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done')
  poll 20 has_proc "$cid" 'sleep 0.1' || notok "the app did not start"
  timed_stop "$cid" -t 3
  logs=$(docker logs "$cid" 2>&1)
  printf '%s\n' "$logs" | sed 's/^/      | /'
  say "docker stop -t 3 took $(secs "$ms"), exit status $status"
  # The kernel refuses reaper's SIGTERM, so the app's handler never runs: docker kills it.
  expect_eq "exit status (docker's SIGKILL: reaper cannot end the app)" "$status" 137
  if grep -qF 'reaper: warning: reaper (uid 0) lacks CAP_KILL and the app runs as uid 1000' <<<"$logs"; then
    ok "a warning at start"
  else
    notok "no warning at start"
  fi
  refused=$(grep -c 'reaper: warning: not permitted to send SIGTERM to process group .*keep CAP_KILL, or run reaper as the app.s user' <<<"$logs" || true)
  expect_eq "warnings naming the refused SIGTERM of docker stop" "$refused" 1
  finish
}
