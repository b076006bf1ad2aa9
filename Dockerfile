# reaper's image: nothing but the static /reaper, to copy into your own image.
#
#   cargo build --release --target x86_64-unknown-linux-musl
#   docker build -t reaper .
#
# then, in your image's Dockerfile:
#
#   COPY --from=reaper /reaper /reaper
#   ENTRYPOINT ["/reaper", "--"]
#   CMD ["your-app", "--its-flags"]
#
# The binary is built before `docker build`, outside any container, so the build pulls
# no base image and needs no network: it works on an air-gapped machine. .dockerignore
# keeps the build context to that one file (target/ holds hundreds of megabytes).
FROM scratch
COPY target/x86_64-unknown-linux-musl/release/reaper /reaper
# `docker run reaper` prints the version; `docker run reaper app` runs app under reaper.
ENTRYPOINT ["/reaper"]
CMD ["--version"]
