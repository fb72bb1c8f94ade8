# release-bot: the production server, started as the Procfile's `web:` line starts it.
#   docker build -t release-bot .
#   docker run --env-file .env -p 3000:3000 release-bot
# Settings come from the environment (see .env.example); no .env is copied into the image.

# -- build: install the package and its dependencies into a virtualenv -----------------------
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
WORKDIR /src
COPY pyproject.toml ./
COPY bot bot
COPY commands commands
COPY integrations integrations
COPY release release
COPY storage storage
RUN /opt/venv/bin/pip install --no-cache-dir .

# -- run: the virtualenv and app.py, as a user that is not root ------------------------------
FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOST=0.0.0.0 \
    PORT=3000 \
    MPLCONFIGDIR=/opt/matplotlib
RUN groupadd --system --gid 10001 release-bot \
 && useradd --system --uid 10001 --gid 10001 --create-home release-bot \
 && mkdir /app /opt/matplotlib \
 && chown 10001:10001 /app /opt/matplotlib
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY app.py ./
# Numeric, so a platform can check it is not root (Kubernetes' runAsNonRoot).
USER 10001:10001
# matplotlib (the weekly chart) builds its font cache on first import: do it once, here.
RUN python -c "import matplotlib.font_manager"
EXPOSE 3000
# HTTP mode only: in Socket Mode nothing listens on $PORT (run it with --no-healthcheck).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '3000') + '/healthz', timeout=4)"]
CMD ["python", "app.py"]
