# The production image: web (gunicorn), Celery worker and beat all run from it (see docker-compose.yml).
ARG PYTHON_VERSION=3.12
FROM python:${PYTHON_VERSION}-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
      fonts-dejavu-core && rm -rf /var/lib/apt/lists/*
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml ./
RUN pip install --no-cache-dir .
COPY . .
RUN useradd --create-home --uid 10001 apilo \
    && mkdir -p /app/media /app/var /app/staticfiles \
    && chown -R apilo /app/media /app/var /app/staticfiles
USER apilo
EXPOSE 8000
