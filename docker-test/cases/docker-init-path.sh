# title: drop-in for docker run --init (init-path in daemon.json)
# runtime: Docker
# limit: 120

run_case() {
  need_docker
  init_path_checks "$BIN/reaper"
  finish
}
