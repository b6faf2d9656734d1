# The bot runtime: Rasa 3.6 on Python 3.11 (README, "Python and lock files"), for both
# `rasa run` (default command) and the action server (`rasa run actions`, compose's and
# Kubernetes' `actions`).
FROM python:3.11-slim
WORKDIR /app
COPY bot/requirements.lock bot/requirements.lock
# Installed from the lock (exact versions, hashes checked) by the uv version the Makefile pins.
# multidict 5.2 (Sanic 21.12 asks < 6) has no 3.11 wheel: it is compiled, then gcc goes.
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
 && pip install --no-cache-dir uv==0.13.9 \
 && uv pip install --system --no-cache --require-hashes -r bot/requirements.lock \
 && pip uninstall -y uv \
 && apt-get purge -y gcc libc6-dev && apt-get autoremove -y && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /app dropdesk
COPY bot ./bot
COPY data ./data
COPY actions ./actions
COPY docker/endpoints.yml docker/credentials.yml docker/
ENV RASA_TELEMETRY_ENABLED=false PYTHONPATH=/app PYTHONUNBUFFERED=1
# Train at build time so every replica serves the same model.
RUN rasa train --config bot/config.yml --domain bot/domain.yml --data data --out models \
      --fixed-model-name dropdesk \
 && chown -R dropdesk /app
USER 10001
EXPOSE 5005 5055
# Rasa answers /version (no token); the action server overrides this with its /health.
HEALTHCHECK --interval=15s --timeout=3s --start-period=120s --retries=5 \
  CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:5005/version', timeout=2)"]
# bot.server is `rasa` with our runtime fixes installed (bot/remote_actions.py). Rasa's HTTP
# API (the service resets trackers on hand-back) needs DROPDESK_RASA_TOKEN; without it Rasa
# does not start, rather than serve an open API. docker/credentials.yml enables only the
# DropDesk channel: Rasa's unauthenticated `rest` channel is off in production.
CMD ["sh", "-c", "exec python -m bot.server run --enable-api \
      --auth-token \"${DROPDESK_RASA_TOKEN:?set DROPDESK_RASA_TOKEN}\" \
      --model models/dropdesk.tar.gz --endpoints docker/endpoints.yml \
      --credentials docker/credentials.yml --port 5005"]
