# docker-test/lib/engines.bash: the engines and the plumbing docker-test uses, sourced by
# docker-test/run (which starts the run's Docker engine with it and cleans up with it) and,
# through common.bash, by every case: daemons of their own (dockerd, containerd, a
# containerd with its CRI plugin and cri-driver), podman with storage of its own, runc
# without a daemon, and the clock. No check lives here; the
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

# --------------------------------------------------------------------------------------
# A Kubernetes node's runtime through the CRI: a containerd of the case's own with its
# `cri` plugin, driven by cri-driver (docker-test/cri/, built by the runner as
# $BIN/cri-driver when a cri-* case runs), which makes the kubelet's calls one at a time.
# Pods are on the host network, which is the containerd's own network namespace here (no
# CNI, no traffic anywhere); their cgroups go below reaper-test-$RUN, removed after the
# run. The images are made here, without an engine: a tarball in `docker save`'s format,
# imported with `ctr -n k8s.io images import`, as a node's images are side-loaded.
# (need_cri and cri_done, which a cri-* case calls, are in common.bash.)

cri() { "$BIN/cri-driver" "$@"; }

# cri_image NAME DIR ENTRYPOINT_JSON CMD_JSON: an image of one layer holding DIR's files,
# named NAME (a full reference: docker.io/reaper-test/...), imported into the containerd of
# CONTAINERD_ADDRESS's k8s.io namespace, where the cri plugin finds its images.
cri_image() {
  local name=$1 dir=$2 entrypoint=$3 cmd=$4 tar
  tar=$WORK/image-$(tr ':/' '--' <<<"$name").tar
  python3 - "$tar" "$name" "$dir" "$entrypoint" "$cmd" <<'EOT'
import hashlib, io, json, os, sys, tarfile
out, name, root, entrypoint, cmd = sys.argv[1:]
layer = io.BytesIO()
with tarfile.open(fileobj=layer, mode="w", format=tarfile.PAX_FORMAT) as t:
    for entry in sorted(os.listdir(root)):
        t.add(os.path.join(root, entry), arcname=entry)
layer = layer.getvalue()
config = json.dumps({
    "architecture": "amd64",
    "os": "linux",
    "config": {
        "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        "Entrypoint": json.loads(entrypoint),
        "Cmd": json.loads(cmd),
    },
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]},
}).encode()
config_name = hashlib.sha256(config).hexdigest() + ".json"
manifest = json.dumps([{"Config": config_name, "RepoTags": [name], "Layers": ["layer.tar"]}]).encode()
with tarfile.open(out, mode="w") as t:
    for member, data in (("layer.tar", layer), (config_name, config), ("manifest.json", manifest)):
        info = tarfile.TarInfo(member)
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
EOT
  ctr -n k8s.io images import "$tar" >/dev/null
}

# start_cri_containerd DIR: a containerd with the cri plugin; root, state, sockets,
# configuration, pod logs (DIR/pods) in DIR; its sandbox image is reaper alone, running
# `reaper --pause`. Imports that image and the test images (docker.io/library/...):
#   CRI_PAUSE  reaper-test/pause:RUN, FROM scratch with /reaper only
#   CRI_APP    ROOTFS and /reaper, ENTRYPOINT ["/reaper", "--"], CMD ["sh"]
#   CRI_PLAIN  ROOTFS without reaper, CMD ["sh"]
# Sets CRI_SOCKET (for cri-driver), CONTAINERD_ADDRESS and CONTAINERD_NAMESPACE=k8s.io
# (for ctr), and waits until the CRI answers.
start_cri_containerd() {
  local dir=$1 img=$WORK/cri-images
  mkdir -p "$dir/root" "$dir/state" "$dir/pods" "$dir/cni"
  export CRI_PAUSE=docker.io/reaper-test/pause:$RUN CRI_APP=docker.io/reaper-test/app:$RUN \
    CRI_PLAIN=docker.io/reaper-test/plain:$RUN
  # restrict_oom_score_adj: containerd would give the sandbox an oom_score_adj of -998;
  # with it, no container's is below containerd's own, which runc can always set.
  cat >"$dir/config.toml" <<EOT
version = 2
root = "$dir/root"
state = "$dir/state"

[grpc]
  address = "$dir/sock"

[ttrpc]
  address = "$dir/sock.ttrpc"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$CRI_PAUSE"
  restrict_oom_score_adj = true
  # The streaming server (kubectl exec -it, attach, port-forward): on the loopback of the
  # containerd's own network namespace; ExecSync does not use it.
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".cni]
    # Pods are on the host network: no CNI plugin runs; an empty directory of its own so
    # that no configuration of the machine's is read.
    bin_dir = "$dir/cni"
    conf_dir = "$dir/cni"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
EOT
  # The mark by which clean_after_case knows a containerd of the CRI's.
  touch "$dir/cri"
  export CONTAINERD_ADDRESS=$dir/sock CONTAINERD_NAMESPACE=k8s.io CRI_SOCKET=$dir/sock \
    CRI_LOG_DIR=$dir/pods CRI_CGROUP_PARENT=/reaper-test-$RUN
  # The loopback of its network namespace up, for the streaming server.
  start_daemon "$dir" "cri version" -- sh -c 'ip link set lo up && exec "$@"' sh \
    containerd --config "$dir/config.toml" --root "$dir/root" --state "$dir/state" \
    --address "$dir/sock" || return 1
  rm -rf "$img"
  mkdir -p "$img/pause" "$img/app" "$img/plain"
  cp "$BIN/reaper" "$img/pause/reaper"
  cp -a "$ROOTFS/." "$img/app/"
  cp "$BIN/reaper" "$img/app/reaper"
  cp -a "$ROOTFS/." "$img/plain/"
  cri_image "$CRI_PAUSE" "$img/pause" '["/reaper", "--pause"]' null &&
    cri_image "$CRI_APP" "$img/app" '["/reaper", "--"]' '["sh"]' &&
    cri_image "$CRI_PLAIN" "$img/plain" null '["sh"]' || return 1
  # As a kubelet does before it creates a container (the policy Never: no pull).
  local i
  for i in "$CRI_PAUSE" "$CRI_APP" "$CRI_PLAIN"; do
    poll 10 cri image-status "$i" || { echo "the cri plugin does not see $i"; return 1; }
  done
}

# cri_zombies ID: the zombies in container ID, counted by ps run through ExecSync.
cri_zombies() { cri exec "$1" -- ps -o stat | { grep -c '^Z' || true; }; }
cri_zombies_are() { [[ $(cri_zombies "$1") == "$2" ]]; }
cri_has_proc() { cri exec "$1" -- ps -o args | grep -qxF -- "$2"; }
# cri_field ID KEY: one line of `cri status ID`.
cri_field() { cri status "$1" | sed -n "s/^$2=//p" | head -n 1; }
cri_state_is() { [[ $(cri_field "$1" state) == "$2" ]]; }
# cri_exit_status ID: the exit status of the task ID (a container's or a sandbox's id) as
# containerd's /tasks/exit event gives it (need_cri records them in $cri_dir/events);
# empty while it has not exited.
cri_exit_status() {
  local line
  line=$(grep '/tasks/exit' "$cri_dir/events" | grep -F "\"container_id\":\"$1\"" | tail -n 1) || return 0
  # A status of 0 is left out of the event.
  if [[ $line =~ \"exit_status\":([0-9]+) ]]; then
    echo "${BASH_REMATCH[1]}"
  else
    echo 0
  fi
}
cri_exited() { [[ -n $(cri_exit_status "$1") ]]; }
# cri_log POD CONTAINER [ATTEMPT]: the container's log file, as the kubelet names it.
cri_log() { echo "$CRI_LOG_DIR/$1/$2_${3:-0}.log"; }

# clean_cri_containerd DIR: what a kubelet does when the node is drained (every container
# stopped and removed, every pod too), then the images; stops the containerd of DIR, kills
# any shim of its own that is left (by pid: the processes whose command line names DIR's
# socket), and removes DIR. In a subshell without errexit (and without bats' ERR trap): a
# step that finds nothing to do ends nothing.
clean_cri_containerd() (
  set +e
  trap - ERR
  dir=$1
  if [[ -S $dir/sock ]]; then
    drv=("env" "CRI_SOCKET=$dir/sock" "$BIN/cri-driver") k8s=(ctr --address "$dir/sock" -n k8s.io)
    for id in $("${drv[@]}" ps 2>/dev/null | cut -d' ' -f1); do
      "${drv[@]}" stop "$id" 0 >/dev/null 2>&1
      "${drv[@]}" rm "$id" >/dev/null 2>&1
    done
    for id in $("${k8s[@]}" task ls -q 2>/dev/null); do "${k8s[@]}" task kill -s KILL "$id" >/dev/null 2>&1; done
    for id in $("${drv[@]}" pods 2>/dev/null | cut -d' ' -f1); do
      "${drv[@]}" stopp "$id" >/dev/null 2>&1
      "${drv[@]}" rmp "$id" >/dev/null 2>&1
    done
    "${k8s[@]}" image ls -q 2>/dev/null | xargs -r "${k8s[@]}" image rm >/dev/null 2>&1
  fi
  [[ -f $dir/events.pid ]] && kill "$(cat "$dir/events.pid")" 2>/dev/null
  # A shim exits once containerd has deleted its pod's last task, which containerd does
  # after RemovePodSandbox has returned, and publishes its last events through a process
  # of its own (containerd ... publish) that waits for containerd: stopping containerd
  # before they are done would leave them.
  poll 20 no_helper_of "$dir"
  stop_daemon "$dir"
  for pid in $(helpers_of "$dir"); do
    echo "docker-test: left by the containerd of $dir, killed: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)(pid $pid)"
    kill -KILL "$pid" 2>/dev/null
  done
  { findmnt -rn -o TARGET | grep "^$dir/"; } | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
  done
  if findmnt -rn -o TARGET | grep -q "^$dir/"; then
    echo "docker-test: mounts left below $dir; not removing it"
  else
    rm -rf "$dir"
  fi
  exit 0
)
# helpers_of DIR: the pids of the processes, the containerd of DIR apart, whose arguments
# name its socket: its shims (containerd-shim-runc-v2 ... -address DIR/sock) and their
# event publishers (containerd --address DIR/sock publish ...).
helpers_of() {
  local daemon f pid
  daemon=$(cat "$1/launched" 2>/dev/null || true)
  for f in $(grep -lzxF -- "$1/sock" /proc/[0-9]*/cmdline 2>/dev/null); do
    pid=$(cut -d/ -f3 <<<"$f")
    [[ $pid == "$daemon" ]] || echo "$pid"
  done
}
no_helper_of() { [[ -z $(helpers_of "$1") ]]; }

# clean_after_case: what a case that failed or timed out may have left: podman's and
# runc's containers, containerd's tasks (the pods and containers of a containerd of the
# CRI's), and every daemon it started. The run's Docker
# engine (dockerd-main) stays for the next case.
clean_after_case() {
  local d
  clean_runc
  for d in "$WORK"/podman*/containers.conf; do [[ -f $d ]] && clean_podman "$(dirname "$d")"; done
  for d in "$WORK"/*/launched; do
    d=$(dirname "$d")
    if [[ -f $d/cri ]]; then
      clean_cri_containerd "$d"
      continue
    fi
    [[ -S $d/sock && -f $d/config.toml ]] && clean_containerd "$d"
    [[ $d == "$WORK/dockerd-main" ]] || stop_daemon "$d"
  done
  return 0
}
