#!/usr/bin/env bats
# runtime: Docker
BATS_TEST_TIMEOUT=90 # a hard limit; a passing run takes far less

load ../lib/common

# on_terminal LOG DIALOGUE COMMAND...: runs COMMAND on a new pseudo-terminal (24x80) and
# plays DIALOGUE with it, as a person at the terminal would: Python, with `t` the pexpect
# session (t.expect(REGEX), t.send(TEXT), t.sendcontrol("c")) and until(SHELL_COMMAND),
# which polls a shell command until it succeeds. Then waits for COMMAND to end. Everything
# it printed is in LOG, and on stdout at the end. The status is COMMAND's (128+N if signal
# N killed it); a dialogue step that times out (30 s) fails with pexpect's exception.
on_terminal() {
  python3 - "$@" <<'PY'
import subprocess, sys, time
import pexpect

log, dialogue, command = sys.argv[1], sys.argv[2], sys.argv[3:]
t = pexpect.spawn(command[0], command[1:], timeout=30, dimensions=(24, 80),
                  logfile=open(log, "wb"))
t.logfile_read, t.logfile = t.logfile, None  # what the command printed, not what was typed

def until(shell_command, secs=30):
    deadline = time.monotonic() + secs
    while subprocess.run(["sh", "-c", shell_command], capture_output=True).returncode != 0:
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {secs} s for: {shell_command}")
        time.sleep(0.05)

try:
    exec(dialogue)
    t.expect(pexpect.EOF)
finally:
    t.close(force=True)
    t.logfile_read.close()
    print(open(log, errors="replace").read().replace("\x1b[6n", ""))
sys.exit(t.exitstatus if t.signalstatus is None else 128 + t.signalstatus)
PY
}

@test "docker-terminal-job-control: a terminal: docker run -it, Ctrl-C, Ctrl-Z as PID 1 and under docker exec -it, job control" {
  need_docker
  local name pgrp tpgid running stopped rc
  # Ctrl-C: the terminal sends SIGINT to its foreground group, which must be the app's.
  name=$(cname e-ctrlc)
  rc=0
  on_terminal "$WORK/e-ctrlc.log" 't.expect("ready"); t.sendcontrol("c")' \
    docker run -it --name "$name" --label "$LABEL" "$IMG_APP" \
    sh -c 'testkit inspect | grep -E "^(pgrp|tpgid):"; echo ready; exec sleep 1000' || rc=$?
  assert_equal "$rc" 130 # docker run -it status after Ctrl-C
  assert_equal "$(docker wait "$name")" 130 # docker wait
  pgrp=$(tr -d '\r' <"$WORK/e-ctrlc.log" | sed -n 's/^pgrp: //p')
  tpgid=$(tr -d '\r' <"$WORK/e-ctrlc.log" | sed -n 's/^tpgid: //p')
  assert [ -n "$pgrp" ]
  assert_equal "$tpgid" "$pgrp" # the app's process group is the terminal's foreground group

  # Ctrl-Z as PID 1 (issue 18): no shell is there to continue the app, so reaper does; the
  # app goes on reading the terminal, as it would have had it been PID 1 itself.
  name=$(cname e-ctrlz)
  rc=0
  on_terminal "$WORK/e-ctrlz.log" \
    't.expect("ready"); t.sendcontrol("z"); t.send("hello\r"); t.expect("got=hello")' \
    docker run -it --name "$name" --label "$LABEL" "$IMG_APP" \
    sh -c 'echo ready; read x; echo got=$x' || rc=$?
  assert_equal "$rc" 0 # Ctrl-Z as PID 1: the app is continued and reads a line

  # Ctrl-Z under `docker exec -it`: reaper is not PID 1 but the session leader of the
  # exec's terminal, in an orphaned process group that no shell can continue. It continues
  # the app, as PID 1 does, rather than stop itself for good.
  name=$(cname e-exec)
  docker run -d --name "$name" --label "$LABEL" "$IMG_APP" sleep 1000 >/dev/null
  rc=0
  on_terminal "$WORK/e-exec.log" \
    't.expect("ready"); t.sendcontrol("z"); t.send("hello\r"); t.expect("got=hello")' \
    docker exec -it "$name" /reaper -v -- sh -c 'echo ready; read x; echo got=$x' || rc=$?
  assert_equal "$rc" 0 # Ctrl-Z under docker exec -it: the app is continued and reads a line
  docker rm -f "$name" >/dev/null

  # Job control in an interactive shell: Ctrl-Z stops a job, fg resumes it, Ctrl-C ends it.
  name=$(cname e-jobs)
  running="docker exec $name ps -o stat,args | grep -q '^S *sleep 1000\$'"
  stopped="docker exec $name ps -o stat,args | grep -q '^T *sleep 1000\$'"
  rc=0
  on_terminal "$WORK/e-jobs.log" "
t.expect(r'rt\\$ '); t.send('sleep 1000\\r'); until(\"$running\")
t.sendcontrol('z'); t.expect('Stopped'); until(\"$stopped\"); t.expect(r'rt\\$ ')
t.send('fg\\r'); until(\"$running\"); t.sendcontrol('c'); t.expect(r'rt\\$ ')
t.send('exit 5\\r')" \
    docker run -it --name "$name" --label "$LABEL" -e 'PS1=rt$ ' "$IMG_APP" sh || rc=$?
  assert_equal "$rc" 5 # interactive shell: job control, then exit 5
  refute grep -q 'job control turned off' "$WORK/e-jobs.log"
  refute grep -q "can't access tty" "$WORK/e-jobs.log"
}
