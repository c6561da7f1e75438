# One image for every CityOps job (worker, sink, notifier, simulator); the
# compose file picks the sub-command.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY cityops ./cityops
COPY streams ./streams
COPY sensors_sim ./sensors_sim
COPY sinks ./sinks
COPY dashboards ./dashboards
COPY deploy ./deploy
RUN pip install . && useradd --system --uid 10001 cityops
USER cityops
ENTRYPOINT ["cityops"]
CMD ["--help"]
