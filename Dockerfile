# One image for every OneThing process: `docker run IMAGE worker|bridge|departments|api|setup`.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY events events
COPY one_things one_things
COPY orchestrator orchestrator
COPY adapters adapters
COPY infra infra
RUN pip wheel --no-cache-dir --wheel-dir /wheels '.[tracing]'

FROM python:3.11-slim
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin onething \
    && mkdir -p /var/lib/onething && chown onething /var/lib/onething
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER 10001
WORKDIR /var/lib/onething
ENV ONETHING_STATE_DIR=/var/lib/onething \
    ONETHING_HOST=0.0.0.0 \
    PYTHONUNBUFFERED=1
EXPOSE 8080 6066 9464 9466 9467
ENTRYPOINT ["onething"]
CMD ["--help"]
