#!/usr/bin/env bats
# runtime: Docker
BATS_TEST_TIMEOUT=180 # a hard limit; a passing run takes far less

load ../lib/common

@test "docker-user-volume: --user: started as root, the app runs as the user that owns its volume; docker stop still gives 143; USER:GROUP alone; docker run --user already the user" {
  need_docker
  local ctx=$WORK/user-ctx img=reaper-test/user:$RUN vol cid out pid ms
  mkdir -p "$ctx"
  printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n' >"$ctx/passwd"
  printf 'root:x:0:\napp:x:1000:\nstaff:x:50:app\nother:x:60:root\n' >"$ctx/group"
  # The usual image: root at the start, a volume owned by the application's user.
  cat >"$ctx/Dockerfile" <<EOF
FROM $IMG_APP
COPY passwd group /etc/
RUN ["/bin/sh", "-c", "mkdir -p /data/app && chown 1000:1000 /data/app && chmod 700 /data/app"]
VOLUME /data
ENTRYPOINT ["/reaper", "--user", "app", "--workdir", "/data/app", "--"]
EOF
  docker build --label "$LABEL" -q -t "$img" "$ctx" >/dev/null || fail "cannot build the image"
  vol=$(cname user-vol)
  docker volume create --label "$LABEL" "$vol" >/dev/null
  # Docker always sets HOME (/root, for a container that starts as root, even given
  # -e HOME=), and reaper keeps a HOME that is set: images say ENV HOME=... (doc/options.md).
  cid=$(drun -d -v "$vol:/data" "$img" sh -c \
    'id -u > who; id -g >> who; id -G >> who; pwd >> who; echo "$HOME" >> who;
     touch /data/root-only 2>/dev/null && echo "wrote as root" >> who; exec sleep 1000')
  poll 20 has_proc "$cid" 'sleep 1000' || fail "the app did not start"
  out=$(docker exec "$cid" cat /data/app/who | tr '\n' ' ')
  say "the app's uid, gid, groups, working directory and HOME: $out"
  assert_equal "$out" "1000 1000 1000 50 /data/app /root " # the app's ids, groups, directory and HOME
  assert_equal "$(docker exec "$cid" stat -c %u:%g /data/app/who)" "1000:1000" # owner of the file it wrote in the volume
  pid=$(docker exec "$cid" pidof sleep)
  assert_equal "$(docker exec "$cid" grep ^Uid: "/proc/$pid/status" | tr -s '\t ' ' ')" "Uid: 1000 1000 1000 1000" # the app's Uid line
  assert_equal "$(docker exec "$cid" grep ^Uid: /proc/1/status | tr -s '\t ' ' ')" "Uid: 0 0 0 0" # reaper (PID 1) stays root
  timed ms docker stop "$cid" >/dev/null
  assert_faster "$ms" 9000 # docker stop (no SIGKILL from docker)
  assert_equal "$(docker wait "$cid")" 143 # exit status after docker stop
  # A user the image does not have: one line, status 2, the app never runs.
  run -2 drun --rm --entrypoint /reaper "$img" --user nobody -- sh -c 'echo app ran'
  say "--user nobody: $output (status $status)"
  assert_output "reaper: --user 'nobody': no user 'nobody' in /etc/passwd (see 'reaper --help')"
  # USER:GROUP is that group alone, as gosu and Docker's own --user give it.
  run -0 drun --rm --entrypoint /reaper "$img" --user app:staff -- sh -c 'id -u; id -g; id -G'
  assert_equal "$(tr '\n' ' ' <<<"$output")" "1000 50 50 " # --user app:staff: uid, gid, groups
  # docker run --user already makes reaper app: nothing to switch, the app runs.
  run -0 drun --rm --user 1000 "$img" sh -c 'id -u; id -g; id -G'
  say "docker run --user 1000 with reaper --user app: $(tr '\n' ' ' <<<"$output")(status $status)"
  assert_equal "$(tr '\n' ' ' <<<"$output")" "1000 1000 1000 50 " # docker run --user 1000, reaper --user app: uid, gid, groups
  # Another user than the one asked for, without the privilege to switch: one line, both ids.
  run -1 drun --rm --user 1001:1001 "$img" sh -c 'echo app ran'
  say "docker run --user 1001:1001 with reaper --user app: $output (status $status)"
  assert_output "reaper: cannot run 'sh' as user 'app' (uid 1000, gid 1000): reaper runs as uid 1001, gid 1001 and may not switch to other ids (failed to set the supplementary groups: Operation not permitted)"
}
