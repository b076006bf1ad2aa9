# title: a terminal: docker run -it, Ctrl-C, Ctrl-Z as PID 1 and under docker exec -it, job control
# runtime: Docker
# limit: 90

run_case() {
  need_docker
  command -v python3 >/dev/null || cannot_run "python3 is missing (it drives the terminal)"
  local name rc pty=$HERE/pty-drive
  # Ctrl-C: the terminal sends SIGINT to its foreground group, which must be the app's.
  name=$(cname e-ctrlc)
  rc=0
  "$pty" --timeout 30 --transcript "$WORK/e-ctrlc.log" expect ready send '\x03' eof -- \
    docker run -it --name "$name" --label "$LABEL" "$IMG_APP" \
    sh -c 'testkit inspect | grep -E "^(pgrp|tpgid):"; echo ready; exec sleep 1000' || rc=$?
  sed 's/^/      | /' "$WORK/e-ctrlc.log"
  expect_eq "docker run -it status after Ctrl-C" "$rc" 130
  expect_eq "docker wait" "$(docker wait "$name")" 130
  local pgrp tpgid
  pgrp=$(tr -d '\r' <"$WORK/e-ctrlc.log" | sed -n 's/^pgrp: //p')
  tpgid=$(tr -d '\r' <"$WORK/e-ctrlc.log" | sed -n 's/^tpgid: //p')
  expect_eq "the app's process group is the terminal's foreground group" "$tpgid" "$pgrp"

  # Ctrl-Z as PID 1 (issue 18): no shell is there to continue the app, so reaper does; the
  # app goes on reading the terminal, as it would have had it been PID 1 itself.
  name=$(cname e-ctrlz)
  rc=0
  "$pty" --timeout 30 --transcript "$WORK/e-ctrlz.log" \
    expect ready send '\x1a' send 'hello\r' expect 'got=hello' eof -- \
    docker run -it --name "$name" --label "$LABEL" "$IMG_APP" \
    sh -c 'echo ready; read x; echo got=$x' || rc=$?
  sed 's/^/      | /' "$WORK/e-ctrlz.log"
  expect_eq "Ctrl-Z as PID 1: the app is continued and reads a line" "$rc" 0

  # Ctrl-Z under `docker exec -it`: reaper is not PID 1 but the session leader of the
  # exec's terminal, in an orphaned process group that no shell can continue. It continues
  # the app, as PID 1 does, rather than stop itself for good.
  name=$(cname e-exec)
  docker run -d --name "$name" --label "$LABEL" "$IMG_APP" sleep 1000 >/dev/null
  rc=0
  "$pty" --timeout 30 --transcript "$WORK/e-exec.log" \
    expect ready send '\x1a' send 'hello\r' expect 'got=hello' eof -- \
    docker exec -it "$name" /reaper -v -- sh -c 'echo ready; read x; echo got=$x' || rc=$?
  sed 's/^/      | /' "$WORK/e-exec.log"
  expect_eq "Ctrl-Z under docker exec -it: the app is continued and reads a line" "$rc" 0
  docker rm -f "$name" >/dev/null

  # Job control in an interactive shell: Ctrl-Z stops a job, fg resumes it, Ctrl-C ends it.
  name=$(cname e-jobs)
  local running="docker exec $name ps -o stat,args | grep -q '^S *sleep 1000\$'"
  local stopped="docker exec $name ps -o stat,args | grep -q '^T *sleep 1000\$'"
  rc=0
  "$pty" --timeout 40 --transcript "$WORK/e-jobs.log" \
    reject 'job control turned off' reject "can't access tty" \
    expect 'rt\$ ' send 'sleep 1000\r' until "$running" send '\x1a' \
    expect 'Stopped' until "$stopped" expect 'rt\$ ' \
    send 'fg\r' until "$running" send '\x03' expect 'rt\$ ' \
    send 'exit 5\r' eof -- \
    docker run -it --name "$name" --label "$LABEL" -e 'PS1=rt$ ' "$IMG_APP" sh || rc=$?
  sed 's/^/      | /; s/\x1b\[6n//g' "$WORK/e-jobs.log"
  expect_eq "interactive shell: job control, then exit 5" "$rc" 5
  finish
}
