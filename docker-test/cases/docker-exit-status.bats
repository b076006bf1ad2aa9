#!/usr/bin/env bats
# runtime: Docker
BATS_TEST_TIMEOUT=90 # a hard limit; a passing run takes far less

load ../lib/common

# signalled_run NAME HOW WANT: `docker run` (attached) of an app without handlers, then
# `docker stop` or `docker kill -s USR1`; both `docker run` and `docker wait` must say WANT.
signalled_run() {
  local name=$1 how=$2 want=$3 client rc=0
  drun --name "$name" "$IMG_APP" sh -c 'sleep 1000' </dev/null >"$WORK/$name.out" 2>&1 3>&- &
  client=$!
  poll 20 has_proc "$name" 'sleep 1000' || fail "the app did not start"
  case $how in
    stop) docker stop "$name" >/dev/null ;;
    usr1) docker kill -s USR1 "$name" >/dev/null ;;
  esac
  wait "$client" || rc=$?
  [[ $rc == "$want" ]] || sed 's/^/docker run: /' "$WORK/$name.out"
  assert_equal "$rc" "$want" # docker run status after docker stop or kill -s USR1
  assert_equal "$(docker wait "$name")" "$want" # docker wait after docker stop or kill -s USR1
}

@test "docker-exit-status: exit statuses reach docker run and docker wait" {
  need_docker
  local want name logs
  for want in 0 3; do
    name=$(cname "b-exit$want")
    run "-$want" drun --name "$name" "$IMG_APP" sh -c "exit $want"
    assert_equal "$(docker wait "$name")" "$want" # docker wait
  done

  name=$(cname b-missing)
  run -127 drun --name "$name" "$IMG_APP" no-such-command # a missing command
  assert_equal "$(docker wait "$name")" 127 # docker wait
  logs=$(docker logs "$name" 2>&1)
  say "docker logs: $logs"
  grep -qxF "reaper: cannot run 'no-such-command': No such file or directory" <<<"$logs" ||
    fail "reaper's message is not in docker logs: $logs"

  name=$(cname b-noexec)
  run -126 drun --name "$name" "$IMG_APP" /tmp # a command that is not executable (/tmp)

  signalled_run "$(cname b-stop)" stop 143
  signalled_run "$(cname b-usr1)" usr1 138
}
