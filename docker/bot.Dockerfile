# The bot runtime: Rasa 3.6 (Python 3.10) for both `rasa run` and `rasa run actions`.
FROM python:3.10-slim
WORKDIR /app
COPY bot/requirements.txt bot/requirements.txt
RUN pip install --no-cache-dir -r bot/requirements.txt
COPY bot ./bot
COPY data ./data
COPY actions ./actions
ENV RASA_TELEMETRY_ENABLED=false PYTHONPATH=/app
# Train at build time so every replica serves the same model.
RUN rasa train --config bot/config.yml --domain bot/domain.yml --data data --out models \
      --fixed-model-name dropdesk
CMD ["rasa", "run", "--enable-api", "--model", "models/dropdesk.tar.gz", \
     "--endpoints", "docker/endpoints.yml", "--credentials", "bot/credentials.yml"]
