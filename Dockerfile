# Production image of the provider (gunicorn). Multi-stage: build a wheel, install it into a
# slim runtime as a non-root user. Configure with environment variables (see README).
FROM python:3.11-slim AS build
WORKDIR /src
COPY setup.cfg pyproject.toml README.md config.ini ./
COPY provider ./provider
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 provider
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
WORKDIR /app
COPY config.ini ./config.ini
ENV PROVIDER_CONFIG=/app/config.ini PROVIDER_MODE=production STORAGE_PATH=/data/ocean-provider.db
RUN mkdir /data && chown provider /data
USER provider
EXPOSE 8030
# gunicorn_conf: graceful shutdown (SHUTDOWN_GRACE), metrics gathered across workers.
CMD ["gunicorn", "-c", "python:provider.gunicorn_conf", "--workers", "2", "--bind", "0.0.0.0:8030", "provider.wsgi:app"]
