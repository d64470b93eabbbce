FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
# collectstatic needs settings that load; these values exist only for this step.
RUN DEBUG=0 SECRET_KEY=collectstatic-only-build-step-key-0123456789abcdefghijklmn \
    ALLOWED_HOSTS=build python manage.py collectstatic --noinput

RUN useradd --system --uid 1000 demarche && chown -R demarche /app
USER demarche
EXPOSE 8000
CMD ["gunicorn", "--config", "config/gunicorn.conf.py", "config.wsgi:application"]
