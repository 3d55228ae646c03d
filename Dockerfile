# chunkscope serve as a container: the package (telemetry included) on a pinned Python.
#
#   docker build -t chunkscope:0.1.0 .
#   docker run --rm -p 127.0.0.1:8080:8080 chunkscope:0.1.0
#
# deploy/k8s/chunkscope.yaml and the `service` profile of deploy/docker-compose.yml run this
# image; its tag is the package version in pyproject.toml (tests/deploy check they agree).
FROM python:3.11.7-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md constraints.txt ./
COPY chunkscope ./chunkscope
COPY instrumentation ./instrumentation
COPY dashboards/chunkscope_dashboards ./dashboards/chunkscope_dashboards
# Telemetry is a default dependency; constraints.txt pins the versions the tests ran with.
RUN pip install --root-user-action=ignore -c constraints.txt . && rm -rf /src

# A fixed non-root user, so runAsNonRoot can verify it from the image.
RUN useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin chunkscope
USER 10001
WORKDIR /tmp
EXPOSE 8080
ENTRYPOINT ["chunkscope"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
