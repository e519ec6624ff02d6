# The launcher image: an init container copies /usr/local/bin/kfp-launcher into each task pod
# (see translators/argo/container.py), so task images need no Python.
#
#   docker build -f hack/launcher.Dockerfile -t ghcr.io/kfp-driver/launcher:0.1.0 .
#
# The binary is built on Debian bullseye (glibc 2.31): it runs in glibc images at least that new.
# Musl images (Alpine) need the zipapp instead, which is shipped too, and a Python 3.9+ in the image.
FROM python:3.11-slim-bullseye AS build
WORKDIR /src
COPY launcher/ launcher/
COPY hack/build-launcher.py hack/
RUN python hack/build-launcher.py --out /out

FROM busybox:1.36
COPY --from=build /out/kfp-launcher /usr/local/bin/kfp-launcher
COPY --from=build /out/kfp-launcher.pyz /usr/local/share/kfp-launcher/kfp-launcher.pyz
ENTRYPOINT ["/usr/local/bin/kfp-launcher"]
