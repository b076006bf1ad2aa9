# A pod sandbox ("pause") image whose process is `reaper --pause`.
#
#   docker build -t reaper .                                  # the top-level Dockerfile
#   docker build -t registry.example.com/reaper-pause:0.1.0 -f examples/kubernetes/pause.Dockerfile examples/kubernetes
#
# then name it as the node's sandbox image (see sandbox-image.md).
FROM scratch
COPY --from=reaper /reaper /reaper
ENTRYPOINT ["/reaper", "--pause"]
