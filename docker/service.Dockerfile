# The service runtime: the FastAPI app and the `dropdesk` CLI (also the image of the migrate job).
# Production profile: DROPDESK_ENV=production refuses to start on SQLite, memory:// pub/sub or
# the default secrets (see README.md, "Production").
FROM python:3.11-slim
WORKDIR /app
# The slip reader's OCR (rapidocr-onnxruntime) imports OpenCV, whose wheel needs libGL and GLib.
RUN apt-get update && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \
 && rm -rf /var/lib/apt/lists/*
# Dependencies from the lock (exact versions, hashes checked) by the uv version the Makefile
# pins, in their own layer; then the project itself without resolving anything again.
COPY requirements.lock ./
RUN pip install --no-cache-dir uv==0.13.9 \
 && uv pip install --system --no-cache --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY api ./api
RUN uv pip install --system --no-cache --no-deps . && pip uninstall -y uv \
 && useradd --system --uid 10001 --home-dir /app dropdesk
USER 10001
ENV DROPDESK_ENV=production DROPDESK_HOST=0.0.0.0 DROPDESK_PORT=8000 PYTHONUNBUFFERED=1
EXPOSE 8000
# /healthz asks nothing of anyone: the process answers. /readyz is for the load balancer.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
# One release migrates once, as its own job (`dropdesk migrate`, compose's `migrate`, the
# Kubernetes Job): a replica never migrates when it starts.
CMD ["dropdesk", "serve"]
