# reaper's image: nothing but the static /reaper, to copy into your own image.
#
#   release/build amd64             # or: release/build amd64 arm64
#   docker build -t reaper .        # docker buildx build --platform linux/arm64 ... for arm64
#
# then, in your image's Dockerfile:
#
#   COPY --from=reaper /reaper /reaper
#   ENTRYPOINT ["/reaper", "--"]
#   CMD ["your-app", "--its-flags"]
#
# The binary is built before `docker build`, outside any container, so the build pulls
# no base image and needs no network: it works on an air-gapped machine. It is the one
# release/build made for the platform being built (TARGETARCH, set by BuildKit; amd64 when
# the builder sets none). .dockerignore keeps the build context to those binaries (target/
# holds hundreds of megabytes).
FROM scratch
ARG TARGETARCH=amd64
COPY target/release-assets/reaper-${TARGETARCH} /reaper
# `docker run reaper` prints the version; `docker run reaper app` runs app under reaper.
ENTRYPOINT ["/reaper"]
CMD ["--version"]
