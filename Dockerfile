# syntax=docker/dockerfile:1
# Two stages: wheels for the runtime set (requirements.txt) are built apart, and
# the final image installs only them: no compiler, no pip cache, no test tools.
# `make image-check` checks the build context, the installed set and the user.

FROM python:3.12-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /build
COPY requirements.txt .
RUN pip wheel --wheel-dir /wheels -r requirements.txt

FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN useradd --system --uid 1000 --no-create-home demarche
WORKDIR /app
COPY requirements.txt .
# The wheels are mounted, not copied: they never become a layer of this image.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels -r requirements.txt
COPY . .
# collectstatic needs settings that load; these values exist only for this step.
RUN DEBUG=0 SECRET_KEY=collectstatic-only-build-step-key-0123456789abcdefghijklmn \
    ALLOWED_HOSTS=build python manage.py collectstatic --noinput
# The code and the collected static files stay root's, read-only to the server;
# media/ (release files) is the only place it writes.
RUN mkdir -p media && chown demarche media
USER demarche
EXPOSE 8000
# docker-compose.yml runs `migrate` first, then this same command.
CMD ["gunicorn", "--config", "config/gunicorn.conf.py", "config.wsgi:application"]
