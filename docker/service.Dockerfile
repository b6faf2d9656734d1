# The service runtime: FastAPI app, migrations and the dropdesk CLI.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY api ./api
RUN pip install --no-cache-dir .
ENV DROPDESK_ENV=production DROPDESK_HOST=0.0.0.0
EXPOSE 8000
CMD ["sh", "-c", "dropdesk migrate && uvicorn dropdesk.main:create_app --factory --host 0.0.0.0 --port 8000"]
