# One image for every Qingdan service; the command picks the service.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
RUN pip install --no-cache-dir . && useradd --system qingdan
USER qingdan
ENV QD_HTTP_HOST=0.0.0.0 QD_MODE=production QD_LOG_JSON=true
