# reaper's image: nothing but the static /reaper, to copy into your own image.
#
#   release/build amd64 arm64
#   DOCKER_BUILDKIT=1 docker build --platform linux/arm64 -t reaper .   # BuildKit
#   docker build --build-arg TARGETARCH=arm64 -t reaper .               # classic builder
#
# then, in your image's Dockerfile:
#
#   COPY --from=reaper /reaper /reaper
#   ENTRYPOINT ["/reaper", "--"]
#   CMD ["your-app", "--its-flags"]
#
# The binary is built before `docker build`, outside any container, so the build pulls
# no base image and needs no network: it works on an air-gapped machine. It is the one
# release/build made for the platform being built: TARGETARCH, which BuildKit (and buildx)
# sets from --platform. Docker's classic builder sets no TARGETARCH and does not pick the
# binary by --platform (it ignores the option, or refuses it): without a
# --build-arg TARGETARCH=... it builds amd64. The ARG below is declared without a value, as
# BuildKit needs to pass its own in (a default here would win over --platform).
# The multi-architecture image of every platform at once is release/oci's OCI archive.
# .dockerignore keeps the build context to those binaries (target/
# holds hundreds of megabytes).
FROM scratch
ARG TARGETARCH
COPY target/release-assets/reaper-${TARGETARCH:-amd64} /reaper
# `docker run reaper` prints the version; `docker run reaper app` runs app under reaper.
ENTRYPOINT ["/reaper"]
CMD ["--version"]
