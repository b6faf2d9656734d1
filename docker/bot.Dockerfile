# The bot runtime: Rasa 3.6 (Python 3.10) for both `rasa run` and `rasa run actions`.
FROM python:3.10-slim
WORKDIR /app
COPY bot/requirements.txt bot/requirements.txt
RUN pip install --no-cache-dir -r bot/requirements.txt
COPY bot ./bot
COPY data ./data
COPY actions ./actions
COPY docker/endpoints.yml docker/endpoints.yml
ENV RASA_TELEMETRY_ENABLED=false PYTHONPATH=/app
# Train at build time so every replica serves the same model.
RUN rasa train --config bot/config.yml --domain bot/domain.yml --data data --out models \
      --fixed-model-name dropdesk
# bot.server is `rasa` with our runtime fixes installed (bot/remote_actions.py). Rasa's HTTP
# API (the service resets trackers on hand-back) needs DROPDESK_RASA_TOKEN; without it Rasa
# does not start, rather than serve an open API.
CMD ["sh", "-c", "exec python -m bot.server run --enable-api \
      --auth-token \"${DROPDESK_RASA_TOKEN:?set DROPDESK_RASA_TOKEN}\" \
      --model models/dropdesk.tar.gz --endpoints docker/endpoints.yml \
      --credentials bot/credentials.yml"]
