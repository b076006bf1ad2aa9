# title: exit statuses reach docker run and docker wait
# runtime: Docker
# limit: 90

# signalled_run NAME HOW WANT: `docker run` (attached) of an app without handlers, then
# `docker stop` or `docker kill -s USR1`; both `docker run` and `docker wait` must say WANT.
signalled_run() {
  local name=$1 how=$2 want=$3 client rc=0
  drun --name "$name" "$IMG_APP" sh -c 'sleep 1000' </dev/null >"$WORK/$name.out" 2>&1 &
  client=$!
  poll 20 has_proc "$name" 'sleep 1000' || notok "the app did not start"
  case $how in
    stop) docker stop "$name" >/dev/null ;;
    usr1) docker kill -s USR1 "$name" >/dev/null ;;
  esac
  wait "$client" || rc=$?
  expect_eq "docker run status after docker ${how/usr1/kill -s USR1}" "$rc" "$want"
  [[ $rc == "$want" ]] || sed 's/^/      docker run: /' "$WORK/$name.out"
  expect_eq "docker wait after docker ${how/usr1/kill -s USR1}" "$(docker wait "$name")" "$want"
}

run_case() {
  need_docker
  local want rc name logs
  for want in 0 3; do
    name=$(cname "b-exit$want")
    rc=0
    drun --name "$name" "$IMG_APP" sh -c "exit $want" || rc=$?
    expect_eq "docker run status of sh -c 'exit $want'" "$rc" "$want"
    expect_eq "docker wait" "$(docker wait "$name")" "$want"
  done

  name=$(cname b-missing)
  rc=0
  drun --name "$name" "$IMG_APP" no-such-command >/dev/null 2>&1 || rc=$?
  expect_eq "docker run status of a missing command" "$rc" 127
  expect_eq "docker wait" "$(docker wait "$name")" 127
  logs=$(docker logs "$name" 2>&1)
  say "docker logs: $logs"
  if grep -qxF "reaper: cannot run 'no-such-command': No such file or directory" <<<"$logs"; then
    ok "reaper's message is in docker logs"
  else
    notok "reaper's message is not in docker logs"
  fi

  name=$(cname b-noexec)
  rc=0
  drun --name "$name" "$IMG_APP" /tmp >/dev/null 2>&1 || rc=$?
  expect_eq "docker run status of a command that is not executable (/tmp)" "$rc" 126

  signalled_run "$(cname b-stop)" stop 143
  signalled_run "$(cname b-usr1)" usr1 138
  finish
}
