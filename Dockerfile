# The portal's one image: gunicorn serves esm.wsgi on port 8000, and the same image runs the
# Celery worker and beat (see docker-compose.yml). Configured only by environment variables.
FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, from pyproject.toml alone, so code changes do not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY . .
# Editable, so settings find templates/ and static/ next to the code in /app.
RUN pip install --no-deps -e .

# Static files are collected (hashed and compressed by WhiteNoise) into the image. Settings
# refuse to load without a SECRET_KEY when DEBUG is off; this one exists only in this step.
RUN SECRET_KEY=collectstatic-build-only DEBUG=0 python manage.py collectstatic --noinput

RUN useradd --create-home --shell /usr/sbin/nologin --uid 10001 esm \
    && mkdir -p /app/media \
    && chown esm:esm /app/media
USER esm

EXPOSE 8000
CMD ["gunicorn", "esm.wsgi", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
