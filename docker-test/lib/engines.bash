# docker-test/lib/engines.bash: the engines and the plumbing docker-test uses, sourced by
# docker-test/run (which starts the run's Docker engine with it and cleans up with it) and,
# through common.bash, by every case: daemons of their own (dockerd, containerd), podman
# with storage of its own, runc without a daemon, and the clock. No check lives here; the
# checks are the cases' (bats-assert).
#
# Every daemon runs with every file of its own (socket, data, state, log) in a directory
# below $WORK, in a network namespace of its own, its pid in DIR/launched: stop_daemon,
# and the clean-up after every case (clean_after_case), stop it by that pid.

now_ms() { date +%s%3N; }
secs() { printf '%d.%02d s' $(($1 / 1000)) $(($1 % 1000 / 10)); }

# timed VAR COMMAND...: runs COMMAND and sets VAR to the milliseconds it took; its status
# is COMMAND's. The one stopwatch of docker-test: every figure a case prints comes from it.
timed() {
  local -n timed_ms=$1
  local t0 rc=0
  shift
  t0=$(now_ms)
  "$@" || rc=$?
  timed_ms=$(($(now_ms) - t0))
  return "$rc"
}

# poll SECS COMMAND...: runs COMMAND until it succeeds; fails once SECS have passed.
poll() {
  local deadline=$(($(now_ms) + $1 * 1000))
  shift
  until "$@" >/dev/null 2>&1; do
    (($(now_ms) < deadline)) || return 1
    sleep 0.05
  done
}

gone() { ! kill -0 "$1" 2>/dev/null; }

# podman_env [DIR [RUNTIME]]: podman with storage, runtime state and configuration of its
# own in DIR ($WORK/podman), and the OCI runtime RUNTIME (runc: crun 1.8 refuses this
# kind of host, whose cgroup v2 hierarchy holds a controller beside the v1 ones).
podman_env() {
  local p=${1:-$WORK/podman} runtime=${2:-runc}
  mkdir -p "$p/helpers" "$p/storage" "$p/run" "$p/tmp"
  # podman looks for its pause process as `catatonit`, in helper_binaries_dir first.
  cp "$BIN/reaper" "$p/helpers/catatonit"
  cat >"$p/containers.conf" <<EOF
# podman for docker-test: reaper as --init and as the pod's pause process; storage,
# runtime state and events under $p; no network (nothing here needs one).
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
init_path = "$BIN/reaper"
netns = "none"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$p/events.log"
helper_binaries_dir = ["$p/helpers", "/usr/local/libexec/podman", "/usr/local/lib/podman", "/usr/libexec/podman", "/usr/lib/podman"]
runtime = "$runtime"
tmp_dir = "$p/tmp"
EOF
  cat >"$p/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$p/storage"
runroot = "$p/run"
EOF
  export CONTAINERS_CONF=$p/containers.conf CONTAINERS_STORAGE_CONF=$p/storage.conf
}

# clean_podman DIR: removes every pod, container and image of the podman of DIR.
clean_podman() {
  (
    export CONTAINERS_CONF=$1/containers.conf CONTAINERS_STORAGE_CONF=$1/storage.conf
    # crun refuses this host's cgroups unless the v2 mount is out of sight (see
    # cases/crun-podman-runtime.bats); runc does not mind.
    if grep -q '^runtime = "crun"' "$CONTAINERS_CONF"; then
      unshare --mount --propagation private -- sh -c \
        'umount /sys/fs/cgroup/unified 2>/dev/null; podman pod rm -af; podman rm -af -t 0; podman rmi -af' >/dev/null 2>&1
    else
      podman pod rm -af >/dev/null 2>&1 || true
      podman rm -af >/dev/null 2>&1 || true
      podman rmi -af >/dev/null 2>&1 || true
      podman unmount -a >/dev/null 2>&1 || true
    fi
  )
  return 0
}

# --------------------------------------------------------------------------------------
# Daemons.

# start_daemon DIR READY_COMMAND -- DAEMON [ARGS...]: starts DAEMON, then waits (60 s at
# most) until READY_COMMAND succeeds; fails at once if the daemon exits (its log, DIR/log,
# says why).
start_daemon() {
  local dir=$1 ready=$2
  shift 3
  mkdir -p "$dir"
  # setsid: out of the terminal's reach (Ctrl-C is for this script, which stops it). 3>&-:
  # bats waits for every holder of its fd 3 before it reports a test.
  setsid unshare --net -- "$@" </dev/null >"$dir/log" 2>&1 3>&- &
  local pid=$! deadline=$(($(now_ms) + 60000))
  echo "$pid" >"$dir/launched"
  until eval "$ready" >/dev/null 2>&1; do
    gone "$pid" && return 1
    (($(now_ms) < deadline)) || return 1
    sleep 0.1
  done
}

stop_daemon() {
  local dir=$1 pid
  pid=$(cat "$dir/launched" 2>/dev/null) || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    poll 30 gone "$pid" || {
      echo "docker-test: daemon $pid ($dir) did not stop in 30 s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    }
  fi
  rm -f "$dir/launched"
}

# start_dockerd DIR [ARGS...]: a dockerd with its socket, data, state and pidfile in DIR;
# waits until `docker info` answers.
start_dockerd() {
  local dir=$1
  shift
  mkdir -p "$dir/data" "$dir/exec"
  [[ -f $dir/daemon.json ]] || echo '{}' >"$dir/daemon.json"
  start_daemon "$dir" "DOCKER_HOST=unix://$dir/sock docker info" -- \
    dockerd --config-file "$dir/daemon.json" --data-root "$dir/data" \
    --exec-root "$dir/exec" --pidfile "$dir/pid" -H "unix://$dir/sock" "$@"
}

# start_containerd DIR: a containerd of its own (not the one under a dockerd): root, state,
# sockets and configuration in DIR. Points `ctr` at it (CONTAINERD_ADDRESS and a namespace
# of this run's, CONTAINERD_NAMESPACE) and waits until `ctr version` answers.
start_containerd() {
  local dir=$1
  mkdir -p "$dir/root" "$dir/state"
  # No CRI plugin: it is the kubelet's interface and would want CNI; ctr needs none of it.
  cat >"$dir/config.toml" <<EOT
version = 2
root = "$dir/root"
state = "$dir/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "$dir/sock"

[ttrpc]
  address = "$dir/sock.ttrpc"
EOT
  export CONTAINERD_ADDRESS=$dir/sock CONTAINERD_NAMESPACE=reaper-test-$RUN
  start_daemon "$dir" "ctr version" -- containerd --config "$dir/config.toml" \
    --root "$dir/root" --state "$dir/state" --address "$dir/sock"
}

# clean_containerd DIR: kills and deletes every task, container and image of this run's
# namespace in the containerd of DIR (their shims exit with them), then stops it.
clean_containerd() {
  local dir=$1 id
  [[ -S $dir/sock ]] || return 0
  (
    export CONTAINERD_ADDRESS=$dir/sock CONTAINERD_NAMESPACE=reaper-test-$RUN
    for id in $(ctr task ls -q 2>/dev/null); do
      ctr task kill -s KILL "$id" >/dev/null 2>&1
      poll 10 ctr_task_stopped "$id"
      ctr task delete "$id" >/dev/null 2>&1
    done
    ctr container ls -q 2>/dev/null | xargs -r ctr container delete >/dev/null 2>&1
    ctr image ls -q 2>/dev/null | xargs -r ctr image rm >/dev/null 2>&1
  )
  stop_daemon "$dir"
}
ctr_task_stopped() { ctr task ls | awk -v id="$1" '$1 == id { print $3 }' | grep -qx STOPPED; }

# --------------------------------------------------------------------------------------
# runc, without a daemon: its state in $WORK/runc/state, bundles below $WORK/runc.

runc_() { runc --root "$WORK/runc/state" "$@"; }

# make_bundle DIR [--env K=V]... [--bind HOSTDIR:DIR]... [--pid-ns PATH] -- ARG...: an OCI
# bundle made by `runc spec`: a root of its own (a copy of ROOTFS, with /reaper), ARG... as
# the process, no terminal, a writable root; --pid-ns joins the PID namespace at PATH
# (/proc/PID/ns/pid), as the containers of a pod with shareProcessNamespace do.
make_bundle() {
  local dir=$1
  shift
  mkdir -p "$dir"
  cp -a "$ROOTFS" "$dir/rootfs"
  cp "$BIN/reaper" "$dir/rootfs/reaper"
  (cd "$dir" && runc spec)
  python3 - "$dir/config.json" "$@" <<'EOT'
import json, sys
path, args = sys.argv[1], sys.argv[2:]
c = json.load(open(path))
p = c["process"]
p["terminal"] = False
c["root"]["readonly"] = False
while args[0] != "--":
    opt, val = args[0], args[1]
    args = args[2:]
    if opt == "--env":
        p["env"].append(val)
    elif opt == "--bind":
        src, dst = val.split(":")
        c["mounts"].append({"destination": dst, "type": "bind", "source": src,
                            "options": ["rbind", "rw"]})
    elif opt == "--pid-ns":
        for ns in c["linux"]["namespaces"]:
            if ns["type"] == "pid":
                ns["path"] = val
    else:
        sys.exit(f"make_bundle: unknown option {opt}")
p["args"] = args[1:]
json.dump(c, open(path, "w"), indent=1)
EOT
}

# runc_start ID [make_bundle OPTION...] -- ARG...: a bundle $WORK/runc/ID, then `runc run`
# of it in the background, its output in $WORK/runc/ID.out; sets client to its pid.
# shellcheck disable=SC2034 # client is for the caller
runc_start() {
  local id=$1
  shift
  make_bundle "$WORK/runc/$id" "$@"
  runc_ run --bundle "$WORK/runc/$id" "$id" </dev/null >"$WORK/runc/$id.out" 2>&1 3>&- &
  client=$!
}
runc_has_proc() { runc_ exec "$1" ps -o args | grep -qxF -- "$2"; }
runc_zombies() { runc_ exec "$1" ps -o stat | { grep -c '^Z' || true; }; }
runc_zombies_are() { [[ $(runc_zombies "$1") == "$2" ]]; }

# clean_runc: deletes, killing them first, every container in this run's runc state.
clean_runc() {
  [[ -d $WORK/runc/state ]] || return 0
  local id
  for id in $(runc_ list -q 2>/dev/null); do runc_ delete -f "$id" >/dev/null 2>&1; done
}

# clean_after_case: what a case that failed or timed out may have left: podman's and
# runc's containers, containerd's tasks, and every daemon it started. The run's Docker
# engine (dockerd-main) stays for the next case.
clean_after_case() {
  local d
  clean_runc
  for d in "$WORK"/podman*/containers.conf; do [[ -f $d ]] && clean_podman "$(dirname "$d")"; done
  for d in "$WORK"/*/launched; do
    d=$(dirname "$d")
    [[ -S $d/sock && -f $d/config.toml ]] && clean_containerd "$d"
    [[ $d == "$WORK/dockerd-main" ]] || stop_daemon "$d"
  done
  return 0
}
