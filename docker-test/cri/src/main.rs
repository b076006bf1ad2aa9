//! cri-driver: a kubelet's calls to a CRI runtime (containerd's `cri` plugin), one call per
//! command, for the cri-* cases of docker-test. Not a kubelet: no pod manifests, no
//! reconciliation; each command is the CRI call the kubelet makes at that point of a pod's
//! life, with the fields the kubelet sets for a pod on the host network, so that a shell
//! script can drive a pod step by step and look at the result between two calls.
//!
//! The socket is `$CRI_SOCKET` (the containerd of the case). `runp` and `create` also use
//! `$CRI_LOG_DIR` (pod logs go to `$CRI_LOG_DIR/POD_NAME/`, as the kubelet's go to
//! `/var/log/pods/...`) and `$CRI_CGROUP_PARENT` (the pods' cgroup parent, as the kubelet's
//! `kubepods/...`).
//!
//! Exit status: 0 when the call succeeded (for `exec`, the command's own status); 1 when
//! the runtime refused the call (its gRPC status on stderr); 2 for a bad command line;
//! 124 when an `exec` timed out.

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use hyper_util::rt::TokioIo;
use k8s_cri::v1::image_service_client::ImageServiceClient;
use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;
use k8s_cri::v1::{
    ContainerConfig, ContainerMetadata, ContainerState, ContainerStatusRequest,
    CreateContainerRequest, ExecSyncRequest, ImageSpec, ImageStatusRequest, KeyValue,
    LinuxContainerConfig, LinuxContainerSecurityContext, LinuxPodSandboxConfig,
    LinuxSandboxSecurityContext, ListContainersRequest, ListPodSandboxRequest, Mount,
    MountPropagation, NamespaceMode, NamespaceOption, PodSandboxConfig, PodSandboxMetadata,
    PodSandboxState, PodSandboxStatusRequest, RemoveContainerRequest, RemovePodSandboxRequest,
    RunPodSandboxRequest, StartContainerRequest, StopContainerRequest, StopPodSandboxRequest,
    VersionRequest,
};
use tokio::net::UnixStream;
use tonic::transport::{Channel, Endpoint, Uri};

const USAGE: &str = "\
usage: cri-driver COMMAND ARG...     (the runtime's socket: $CRI_SOCKET)
  version                        the runtime's name and version, and the CRI version
  image-status IMAGE             the image's id if the runtime has it (status 1 if not)
  runp NAME [--share-pid]        RunPodSandbox on the host network; prints the pod's id
  pod-status POD                 PodSandboxStatus: READY or NOTREADY
  create POD NAME IMAGE [--attempt N] [--share-pid] [--env K=V]... [--mount HOST:PATH]...
         [--command ARG]... [-- ARG...]
                                 CreateContainer; --command replaces the image's
                                 ENTRYPOINT (a pod's command:), the ARGs its CMD (args:);
                                 prints the container's id
  start ID                       StartContainer
  exec ID [--timeout SECS] -- CMD...
                                 ExecSync: the command's output and exit status (124
                                 when it timed out, the runtime's message on stderr)
  probes ID COUNT PARALLEL TIMEOUT -- CMD...
                                 COUNT ExecSync calls of CMD with TIMEOUT seconds each,
                                 PARALLEL at a time; prints how they ended
  status ID                      ContainerStatus, key=value lines; termination_message
                                 is what the kubelet would read from the host file
                                 mounted at /dev/termination-log
  ps                             ListContainers: id, pod, name, attempt, state
  pods                           ListPodSandbox: id, name, state
  stop ID TIMEOUT                StopContainer (SIGTERM, SIGKILL after TIMEOUT s);
                                 prints the milliseconds the call took
  rm ID                          RemoveContainer
  stopp POD                      StopPodSandbox
  rmp POD                        RemovePodSandbox";

/// The path at which the kubelet mounts a container's termination-message file (the
/// default `terminationMessagePath`), and the most it reads of it (4 KiB).
const TERMINATION_PATH: &str = "/dev/termination-log";
const TERMINATION_MAX: usize = 4096;
/// The Kubernetes namespace of the pods, in their metadata.
const POD_NAMESPACE: &str = "reaper-test";

enum Failure {
    Usage(String),
    Runtime(String),
    TimedOut(String),
}

impl From<tonic::Status> for Failure {
    fn from(s: tonic::Status) -> Self {
        Failure::Runtime(format!("{:?}: {}", s.code(), s.message()))
    }
}

type Res<T> = Result<T, Failure>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cri-driver: cannot start tokio: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(run(args)) {
        Ok(code) => code,
        Err(Failure::Usage(msg)) => {
            eprintln!("cri-driver: {msg}\n{USAGE}");
            ExitCode::from(2)
        }
        Err(Failure::Runtime(msg)) => {
            eprintln!("cri-driver: {msg}");
            ExitCode::from(1)
        }
        Err(Failure::TimedOut(msg)) => {
            eprintln!("cri-driver: timed out: {msg}");
            ExitCode::from(124)
        }
    }
}

fn usage<T>(msg: impl Into<String>) -> Res<T> {
    Err(Failure::Usage(msg.into()))
}

fn env(name: &str) -> Res<String> {
    std::env::var(name).or_else(|_| usage(format!("${name} is not set")))
}

async fn connect() -> Res<Channel> {
    let path = env("CRI_SOCKET")?;
    // The URI is not used: every connection goes to the socket.
    let endpoint = Endpoint::from_static("http://localhost");
    endpoint
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let path = path.clone();
            async move { Ok::<_, std::io::Error>(TokioIo::new(UnixStream::connect(path).await?)) }
        }))
        .await
        .map_err(|e| Failure::Runtime(format!("cannot connect to $CRI_SOCKET: {e}")))
}

/// The options of a command line: flags with a value, repeatable, then `--` and the rest.
struct Opts {
    positional: Vec<String>,
    flags: Vec<(String, String)>,
    switches: Vec<String>,
    rest: Vec<String>,
}

impl Opts {
    fn parse(args: &[String], with_value: &[&str], switches: &[&str]) -> Res<Opts> {
        let mut o = Opts {
            positional: vec![],
            flags: vec![],
            switches: vec![],
            rest: vec![],
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            if a == "--" {
                o.rest = it.cloned().collect();
                break;
            } else if with_value.contains(&a.as_str()) {
                let Some(v) = it.next() else {
                    return usage(format!("{a} needs a value"));
                };
                o.flags.push((a.clone(), v.clone()));
            } else if switches.contains(&a.as_str()) {
                o.switches.push(a.clone());
            } else if a.starts_with("--") {
                return usage(format!("unknown option {a}"));
            } else {
                o.positional.push(a.clone());
            }
        }
        Ok(o)
    }
    fn all(&self, flag: &str) -> Vec<&str> {
        self.flags
            .iter()
            .filter(|(f, _)| f == flag)
            .map(|(_, v)| v.as_str())
            .collect()
    }
    fn one(&self, flag: &str) -> Option<&str> {
        self.all(flag).last().copied()
    }
    fn has(&self, switch: &str) -> bool {
        self.switches.iter().any(|s| s == switch)
    }
    fn want(&self, n: usize, what: &str) -> Res<()> {
        if self.positional.len() == n {
            Ok(())
        } else {
            usage(format!("expected {what}"))
        }
    }
}

fn number<T: std::str::FromStr>(s: &str, what: &str) -> Res<T> {
    s.parse()
        .or_else(|_| usage(format!("{what}: not a number: {s}")))
}

/// The namespaces of a kubelet's pod on the host network: the node's network, an IPC
/// namespace of the pod's, and a PID namespace of each container's own or, with
/// `shareProcessNamespace: true`, the pod's (the sandbox's, whose PID 1 is the pause
/// process).
fn namespaces(share_pid: bool) -> NamespaceOption {
    NamespaceOption {
        network: NamespaceMode::Node as i32,
        pid: if share_pid {
            NamespaceMode::Pod
        } else {
            NamespaceMode::Container
        } as i32,
        ipc: NamespaceMode::Pod as i32,
        ..Default::default()
    }
}

/// The sandbox configuration, as the kubelet sends it with RunPodSandbox and again with
/// every CreateContainer of the pod. No hostname: a pod on the host network shares the
/// node's UTS namespace, and the kubelet sets none.
fn sandbox_config(meta: PodSandboxMetadata, share_pid: bool) -> Res<PodSandboxConfig> {
    let log_directory = format!("{}/{}", env("CRI_LOG_DIR")?, meta.name);
    std::fs::create_dir_all(&log_directory)
        .map_err(|e| Failure::Runtime(format!("cannot create {log_directory}: {e}")))?;
    Ok(PodSandboxConfig {
        metadata: Some(meta),
        log_directory,
        linux: Some(LinuxPodSandboxConfig {
            cgroup_parent: env("CRI_CGROUP_PARENT")?,
            security_context: Some(LinuxSandboxSecurityContext {
                namespace_options: Some(namespaces(share_pid)),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    })
}

async fn run(args: Vec<String>) -> Res<ExitCode> {
    let Some((cmd, args)) = args.split_first() else {
        return usage("no command");
    };
    if cmd == "--help" || cmd == "help" {
        println!("{USAGE}");
        return Ok(ExitCode::SUCCESS);
    }
    let channel = connect().await?;
    let mut rs = RuntimeServiceClient::new(channel.clone());
    let mut is = ImageServiceClient::new(channel.clone());
    match cmd.as_str() {
        "version" => {
            Opts::parse(args, &[], &[])?.want(0, "no argument")?;
            let v = rs
                .version(VersionRequest {
                    version: "v1".into(),
                })
                .await?
                .into_inner();
            println!(
                "{} {} (CRI {})",
                v.runtime_name, v.runtime_version, v.runtime_api_version
            );
        }
        "image-status" => {
            let o = Opts::parse(args, &[], &[])?;
            o.want(1, "IMAGE")?;
            let req = ImageStatusRequest {
                image: Some(ImageSpec {
                    image: o.positional[0].clone(),
                    ..Default::default()
                }),
                verbose: false,
            };
            match is.image_status(req).await?.into_inner().image {
                Some(img) => println!("{} {} bytes", img.id, img.size),
                None => return Err(Failure::Runtime(format!("no image {}", o.positional[0]))),
            }
        }
        "runp" => {
            let o = Opts::parse(args, &[], &["--share-pid"])?;
            o.want(1, "NAME")?;
            let name = o.positional[0].clone();
            let meta = PodSandboxMetadata {
                uid: format!("uid-{name}"),
                name,
                namespace: POD_NAMESPACE.into(),
                attempt: 0,
            };
            let config = sandbox_config(meta, o.has("--share-pid"))?;
            let req = RunPodSandboxRequest {
                config: Some(config),
                runtime_handler: String::new(),
            };
            println!(
                "{}",
                rs.run_pod_sandbox(req).await?.into_inner().pod_sandbox_id
            );
        }
        "pod-status" => {
            let o = Opts::parse(args, &[], &[])?;
            o.want(1, "POD")?;
            let req = PodSandboxStatusRequest {
                pod_sandbox_id: o.positional[0].clone(),
                verbose: false,
            };
            let status = rs.pod_sandbox_status(req).await?.into_inner().status;
            let state = status.map_or(-1, |s| s.state);
            println!(
                "{}",
                if state == PodSandboxState::SandboxReady as i32 {
                    "READY"
                } else {
                    "NOTREADY"
                }
            );
        }
        "create" => create(&mut rs, args).await?,
        "start" => {
            let o = Opts::parse(args, &[], &[])?;
            o.want(1, "ID")?;
            rs.start_container(StartContainerRequest {
                container_id: o.positional[0].clone(),
            })
            .await?;
        }
        "exec" => {
            let o = Opts::parse(args, &["--timeout"], &[])?;
            o.want(1, "ID")?;
            if o.rest.is_empty() {
                return usage("exec: no command after --");
            }
            let timeout = match o.one("--timeout") {
                Some(t) => number(t, "--timeout")?,
                None => 0,
            };
            let r = exec(&mut rs, &o.positional[0], &o.rest, timeout).await?;
            use std::io::Write;
            // The output is the command's: where it cannot be written there is no one to
            // tell.
            let _ = std::io::stdout().write_all(&r.stdout);
            let _ = std::io::stderr().write_all(&r.stderr);
            return Ok(ExitCode::from(u8::try_from(r.exit_code).unwrap_or(255)));
        }
        "probes" => probes(&rs, args).await?,
        "status" => status(&mut rs, args).await?,
        "ps" => {
            Opts::parse(args, &[], &[])?.want(0, "no argument")?;
            let list = rs
                .list_containers(ListContainersRequest { filter: None })
                .await?
                .into_inner();
            for c in list.containers {
                let meta = c.metadata.unwrap_or_default();
                println!(
                    "{} {} {} {} {}",
                    c.id,
                    c.pod_sandbox_id,
                    meta.name,
                    meta.attempt,
                    state_name(c.state)
                );
            }
        }
        "pods" => {
            Opts::parse(args, &[], &[])?.want(0, "no argument")?;
            let list = rs
                .list_pod_sandbox(ListPodSandboxRequest { filter: None })
                .await?
                .into_inner();
            for p in list.items {
                let ready = p.state == PodSandboxState::SandboxReady as i32;
                let name = p.metadata.map(|m| m.name).unwrap_or_default();
                println!(
                    "{} {} {}",
                    p.id,
                    name,
                    if ready { "READY" } else { "NOTREADY" }
                );
            }
        }
        "stop" => {
            let o = Opts::parse(args, &[], &[])?;
            o.want(2, "ID TIMEOUT")?;
            let timeout = number(&o.positional[1], "TIMEOUT")?;
            let t0 = Instant::now();
            rs.stop_container(StopContainerRequest {
                container_id: o.positional[0].clone(),
                timeout,
            })
            .await?;
            println!("{}", t0.elapsed().as_millis());
        }
        "rm" => {
            let o = Opts::parse(args, &[], &[])?;
            o.want(1, "ID")?;
            rs.remove_container(RemoveContainerRequest {
                container_id: o.positional[0].clone(),
            })
            .await?;
        }
        "stopp" => {
            let o = Opts::parse(args, &[], &[])?;
            o.want(1, "POD")?;
            rs.stop_pod_sandbox(StopPodSandboxRequest {
                pod_sandbox_id: o.positional[0].clone(),
            })
            .await?;
        }
        "rmp" => {
            let o = Opts::parse(args, &[], &[])?;
            o.want(1, "POD")?;
            rs.remove_pod_sandbox(RemovePodSandboxRequest {
                pod_sandbox_id: o.positional[0].clone(),
            })
            .await?;
        }
        other => return usage(format!("unknown command {other}")),
    }
    Ok(ExitCode::SUCCESS)
}

fn state_name(state: i32) -> &'static str {
    match ContainerState::try_from(state) {
        Ok(ContainerState::ContainerCreated) => "CREATED",
        Ok(ContainerState::ContainerRunning) => "RUNNING",
        Ok(ContainerState::ContainerExited) => "EXITED",
        _ => "UNKNOWN",
    }
}

/// CreateContainer, with the fields a kubelet sets: the pod's sandbox configuration again,
/// the container's log file below the pod's log directory (NAME_ATTEMPT.log), its mounts
/// (the termination-message file is one), and its namespaces.
async fn create(rs: &mut RuntimeServiceClient<Channel>, args: &[String]) -> Res<()> {
    let o = Opts::parse(
        args,
        &["--attempt", "--env", "--mount", "--command"],
        &["--share-pid"],
    )?;
    o.want(3, "POD NAME IMAGE")?;
    let (pod, name, image) = (&o.positional[0], &o.positional[1], &o.positional[2]);
    let attempt = match o.one("--attempt") {
        Some(a) => number(a, "--attempt")?,
        None => 0,
    };
    let req = PodSandboxStatusRequest {
        pod_sandbox_id: pod.clone(),
        verbose: false,
    };
    let meta = rs
        .pod_sandbox_status(req)
        .await?
        .into_inner()
        .status
        .and_then(|s| s.metadata);
    let Some(meta) = meta else {
        return Err(Failure::Runtime(format!("pod {pod} has no metadata")));
    };
    let share_pid = o.has("--share-pid");
    let mut envs = vec![];
    for kv in o.all("--env") {
        let Some((key, value)) = kv.split_once('=') else {
            return usage(format!("--env {kv}: want K=V"));
        };
        envs.push(KeyValue {
            key: key.into(),
            value: value.into(),
        });
    }
    let mut mounts = vec![];
    for m in o.all("--mount") {
        let Some((host, path)) = m.split_once(':') else {
            return usage(format!("--mount {m}: want HOST:PATH"));
        };
        mounts.push(Mount {
            container_path: path.into(),
            host_path: host.into(),
            propagation: MountPropagation::PropagationPrivate as i32,
            ..Default::default()
        });
    }
    let config = ContainerConfig {
        metadata: Some(ContainerMetadata {
            name: name.clone(),
            attempt,
        }),
        image: Some(ImageSpec {
            image: image.clone(),
            ..Default::default()
        }),
        command: o.all("--command").into_iter().map(String::from).collect(),
        args: o.rest.clone(),
        envs,
        mounts,
        log_path: format!("{name}_{attempt}.log"),
        linux: Some(LinuxContainerConfig {
            security_context: Some(LinuxContainerSecurityContext {
                namespace_options: Some(namespaces(share_pid)),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let req = CreateContainerRequest {
        pod_sandbox_id: pod.clone(),
        config: Some(config),
        sandbox_config: Some(sandbox_config(meta, share_pid)?),
    };
    println!(
        "{}",
        rs.create_container(req).await?.into_inner().container_id
    );
    Ok(())
}

/// ExecSync with a timeout as a kubelet's probe sets it: TIMEOUT s for the runtime, which
/// kills the command when it has passed, and a deadline of the client's a little later.
async fn exec(
    rs: &mut RuntimeServiceClient<Channel>,
    id: &str,
    cmd: &[String],
    timeout: i64,
) -> Res<k8s_cri::v1::ExecSyncResponse> {
    let mut req = tonic::Request::new(ExecSyncRequest {
        container_id: id.into(),
        cmd: cmd.to_vec(),
        timeout,
    });
    if timeout > 0 {
        req.set_timeout(Duration::from_secs(timeout.unsigned_abs() + 60));
    }
    match rs.exec_sync(req).await {
        Ok(r) => Ok(r.into_inner()),
        // containerd: "timeout 1s exceeded: context deadline exceeded"
        Err(s) if timeout > 0 && s.message().contains("timeout") => {
            Err(Failure::TimedOut(s.message().into()))
        }
        Err(s) => Err(s.into()),
    }
}

/// COUNT probes of CMD, PARALLEL at a time (a kubelet runs one probe of a container at a
/// time; these run in batches so that 50 hung probes do not take 50 s).
async fn probes(rs: &RuntimeServiceClient<Channel>, args: &[String]) -> Res<()> {
    let o = Opts::parse(args, &[], &[])?;
    o.want(4, "ID COUNT PARALLEL TIMEOUT")?;
    let id = o.positional[0].clone();
    let count: u32 = number(&o.positional[1], "COUNT")?;
    let parallel: u32 = number(&o.positional[2], "PARALLEL")?;
    let timeout: i64 = number(&o.positional[3], "TIMEOUT")?;
    if o.rest.is_empty() || parallel == 0 {
        return usage("probes: PARALLEL must be at least 1, and a command follow --");
    }
    let t0 = Instant::now();
    let (mut timed_out, mut failed) = (0, 0);
    let mut exited: HashMap<i32, u32> = HashMap::new();
    let mut started = 0;
    while started < count {
        let mut batch = tokio::task::JoinSet::new();
        while started < count && batch.len() < parallel as usize {
            let (mut rs, id, cmd) = (rs.clone(), id.clone(), o.rest.clone());
            batch.spawn(async move { exec(&mut rs, &id, &cmd, timeout).await });
            started += 1;
        }
        while let Some(r) = batch.join_next().await {
            match r {
                Ok(Ok(r)) => *exited.entry(r.exit_code).or_default() += 1,
                Ok(Err(Failure::TimedOut(_))) => timed_out += 1,
                Ok(Err(Failure::Runtime(msg))) => {
                    eprintln!("cri-driver: probe: {msg}");
                    failed += 1;
                }
                Ok(Err(Failure::Usage(msg))) => return usage(msg),
                Err(e) => return Err(Failure::Runtime(format!("probe task: {e}"))),
            }
        }
    }
    let mut codes: Vec<_> = exited.into_iter().collect();
    codes.sort();
    let codes: Vec<String> = codes.iter().map(|(c, n)| format!("{n}x{c}")).collect();
    println!(
        "probes={count} timed_out={timed_out} exited={} failed={failed} ms={}",
        if codes.is_empty() {
            "0".into()
        } else {
            codes.join(",")
        },
        t0.elapsed().as_millis()
    );
    Ok(())
}

/// One line, with the newlines and backslashes of a value escaped.
fn escaped(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}

async fn status(rs: &mut RuntimeServiceClient<Channel>, args: &[String]) -> Res<()> {
    let o = Opts::parse(args, &[], &[])?;
    o.want(1, "ID")?;
    let req = ContainerStatusRequest {
        container_id: o.positional[0].clone(),
        verbose: false,
    };
    let Some(s) = rs.container_status(req).await?.into_inner().status else {
        return Err(Failure::Runtime("no status".into()));
    };
    let meta = s.metadata.clone().unwrap_or_default();
    println!("name={}", meta.name);
    println!("attempt={}", meta.attempt);
    println!("state={}", state_name(s.state));
    println!("exit_code={}", s.exit_code);
    println!("reason={}", escaped(&s.reason));
    println!("message={}", escaped(&s.message));
    println!("log_path={}", s.log_path);
    for m in &s.mounts {
        println!("mount={}:{}", m.host_path, m.container_path);
    }
    // What the kubelet does for a container that has exited: it finds the mount of the
    // termination-message path in the status, and reads (at most 4 KiB of) its host file.
    if s.state == ContainerState::ContainerExited as i32
        && let Some(m) = s
            .mounts
            .iter()
            .find(|m| m.container_path == TERMINATION_PATH)
    {
        match std::fs::read(&m.host_path) {
            Ok(data) => {
                let tail = &data[data.len().saturating_sub(TERMINATION_MAX)..];
                println!(
                    "termination_message={}",
                    escaped(&String::from_utf8_lossy(tail))
                );
            }
            Err(e) => println!("termination_message=(cannot read {}: {e})", m.host_path),
        }
    }
    Ok(())
}
