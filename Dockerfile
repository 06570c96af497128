# SkySlots: one image for `serve`, `worker`, `beat`, `migrate` and `backup` (the entrypoint is
# the `skyslots` command). See docs/operations.md, "The image".
#
#   docker build -t skyslots .
#   docker run --rm -p 8000:8000 -v skyslots-data:/data skyslots
#
# BASE is any Debian bookworm image with python3 (3.11+) and its venv module: the default for
# Docker and GHCR, or the debootstrapped base the tests build (tests/test_image.py). Both stages
# start from it, so the virtualenv built in the first runs on the same Python in the second.
ARG BASE=python:3.12-slim-bookworm

FROM ${BASE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore
WORKDIR /src
RUN python3 -m venv /opt/venv
# The dependencies first, as wheels into the virtualenv: their own layers, rebuilt only when
# pyproject.toml changes. Every dependency ships manylinux wheels, so no compiler is needed and
# none is installed.
COPY pyproject.toml ./
RUN python3 -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\\n')" > requirements.txt \
    && /opt/venv/bin/pip wheel --wheel-dir /wheels --requirement requirements.txt \
    && /opt/venv/bin/pip install --no-index --find-links /wheels --requirement requirements.txt
# Then SkySlots itself, as a wheel the runtime stage installs into its copy of the virtualenv (a
# code change ships a small layer, not the dependencies again).
COPY README.md ./
COPY src ./src
RUN /opt/venv/bin/pip wheel --no-deps --wheel-dir /app-wheel .

FROM ${BASE} AS runtime
# pg_dump and pg_restore for `skyslots backup`. Not pinned: bookworm's security updates replace
# the version, and an exact pin would make the build fail after each of them.
# hadolint ignore=DL3008
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install --yes --no-install-recommends \
       postgresql-client \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 skyslots \
    && useradd --system --uid 10001 --gid skyslots --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin skyslots \
    && install --directory --owner=skyslots --group=skyslots --mode=0750 /data
COPY --from=build /opt/venv /opt/venv
RUN --mount=type=bind,from=build,source=/app-wheel,target=/tmp/app-wheel \
    /opt/venv/bin/pip install --no-cache-dir --no-deps --no-index /tmp/app-wheel/skyslots-*.whl
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SKYSLOTS_DATA_DIR=/data
WORKDIR /app
USER 10001:10001
EXPOSE 8000
# `serve`'s /health on SKYSLOTS_PORT (default 8000; set it rather than --port). Worker and beat
# containers serve no HTTP: run them with --no-healthcheck.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('SKYSLOTS_PORT', '8000'); sys.exit(urllib.request.urlopen(f'http://127.0.0.1:{port}/health', timeout=4).status != 200)"]
# Last, so a new revision rebuilds no layer above.
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=""
ARG SOURCE=""
LABEL org.opencontainers.image.title="SkySlots" \
      org.opencontainers.image.description="Slot booking for VATSIM events: ATC positions and pilot slots, first come, first served, live." \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}"
ENTRYPOINT ["skyslots"]
CMD ["serve", "--host", "0.0.0.0"]
