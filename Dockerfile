# The Switchboard server image used by docker-compose.yml.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY server server
COPY channels channels
COPY nlu nlu
COPY routing routing
COPY web_console web_console
# The reports link to their definitions (server/http/analytics_definitions.py).
COPY docs/metrics.md docs/metrics.md
RUN pip install --no-cache-dir . \
 && useradd --system --home /app switchboard
USER switchboard
# 8081: the health port (SWITCHBOARD_HEALTH_PORT in docker-compose.yml): checks and scrapes.
EXPOSE 8000 2525 8081
# Migrations run at start; an advisory lock lets replicas start together.
CMD ["switchboard", "serve", "--host", "0.0.0.0", "--port", "8000"]
