#!/usr/bin/env bats
# runtime: podman
BATS_TEST_TIMEOUT=120 # a hard limit; a passing run takes far less

load ../lib/common

# podman, when it is itself socket-activated (LISTEN_PID its own pid), passes the sockets
# into the container as fds 3.. with LISTEN_FDS and LISTEN_PID=1, the container's PID 1:
# with --init that is reaper, which must name the app instead (sd_listen_fds(3)).

# ask PORT: connects to 127.0.0.1:PORT (retrying for 20 s, as the listener comes up) and
# prints the answer, then the seconds from connecting to the answer; nothing on failure.
ask() {
  python3 - "$1" <<'EOF'
import socket, sys, time
deadline = time.monotonic() + 20
while True:
    try:
        s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1)
        break
    except OSError:
        if time.monotonic() > deadline:
            sys.exit(1)
        time.sleep(0.05)
asked = time.monotonic()
s.settimeout(max(deadline - asked, 1))
data = b""
try:
    while chunk := s.recv(200):
        data += chunk
except OSError as e:
    print("error:", e, file=sys.stderr)
print(data.decode(errors="replace").strip())
print("%.3f" % (time.monotonic() - asked))
EOF
}

@test "podman-socket-activation: podman run --init, socket-activated: the app behind reaper takes the socket" {
  command -v podman >/dev/null || cannot_run "podman is missing"
  command -v systemd-socket-activate >/dev/null || cannot_run "systemd-socket-activate is missing (package systemd)"
  podman_env "$WORK/podman" runc
  local plain=localhost/reaper-test-plain:$RUN port pid out answer took rc words
  tar -C "$ROOTFS" -c . | podman import -q - "$plain" >/dev/null
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

  # On the first connection, systemd-socket-activate execs podman with the socket as fd 3.
  systemd-socket-activate --listen="127.0.0.1:$port" --fdname=web \
    -E PATH -E CONTAINERS_CONF -E CONTAINERS_STORAGE_CONF \
    podman run --rm --init --init-path="$BIN/reaper" "$plain" testkit listen \
    >"$WORK/activate.log" 2>&1 3>&- &
  pid=$!
  out=$(ask "$port") || true
  if poll 60 gone "$pid"; then
    wait "$pid" && rc=0 || rc=$?
  else
    kill -KILL "$pid" 2>/dev/null || true
    rc=killed
  fi
  cat "$WORK/activate.log"
  answer=$(sed -n 1p <<<"$out")
  took=$(sed -n 2p <<<"$out")
  say "answer: '$answer' after ${took:-?} s"
  read -ra words <<<"$answer"
  assert_equal "${words[2]:-}" "LISTEN_PID=${words[1]:-none}" # the app's pid is its LISTEN_PID
  assert_equal "${words[*]:3}" "LISTEN_FDS=1 LISTEN_FDNAMES=web" # LISTEN_FDS and LISTEN_FDNAMES
  assert_equal "$rc" 0 # status of podman run
}
