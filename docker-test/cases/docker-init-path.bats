#!/usr/bin/env bats
# runtime: Docker
BATS_TEST_TIMEOUT=120 # a hard limit; a passing run takes far less

load ../lib/common

@test "docker-init-path: drop-in for docker run --init (init-path in daemon.json)" {
  need_docker
  init_path_checks "$BIN/reaper"
}
