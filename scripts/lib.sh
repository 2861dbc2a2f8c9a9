# Shared by scripts/run and scripts/test: install, build, and start PostgreSQL, the app and nginx.
# Everything lives under $LOCAL (default .local/) and is stopped by stop_all.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LOCAL=${LOCAL:-$ROOT/.local}
PIDS=()

say() { printf '%s\n' "$*" >&2; }

# Every build the scripts run refuses a target that imports a target it does not declare.
IMPORT_CHECK="--explicit-target-dependency-import-check error"

# Debian packages the build and the services need (ffmpeg: ffprobe checks downloaded videos, ffmpeg
# makes posters the provider did not send; libvips-dev for reference images); installed only when missing.
ensure_packages() {
    local wanted=(libfcgi-dev libpq-dev libcurl4-openssl-dev libsodium-dev libcrack2-dev cracklib-runtime libvips-dev pkg-config curl nginx postgresql ffmpeg "$@")
    local missing=() p
    for p in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing: ${missing[*]}"
    local sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Builds in the given mode (release or debug) and sets BIN to that mode's promptreel binary.
build_app() {
    local mode=$1
    case $mode in release|debug) ;; *) say "unknown build mode '$mode' (release or debug)"; return 1 ;; esac
    say "building ($mode)…"
    # A failed build stops here, even when an older binary is still on disk (it must never run stale code).
    local status=0 log
    log=$(mktemp)
    (cd "$ROOT" && swift build -c "$mode" $IMPORT_CHECK) >"$log" 2>&1 || status=$?
    grep -vE '^(\[|Building|Compiling|Write|Linking|Planning|Fetching|Computing|Creating|Working|Cloning)' "$log" >&2 || true
    rm -f "$log"
    BIN="$ROOT/.build/$mode/promptreel"
    [ "$status" -eq 0 ] && [ -x "$BIN" ] || { say "build failed"; return 1; }
}

build_release() { build_app release; }

as_postgres() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# A private cluster, reachable only through a Unix socket, unless DATABASE_URL is already set.
start_postgres() {
    if [ -n "${DATABASE_URL:-}" ]; then say "using DATABASE_URL from the environment"; return 0; fi
    local bin; bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
    PG_CTL="$bin/pg_ctl"
    local data="$LOCAL/pg"
    mkdir -p "$LOCAL"
    if [ "$(id -u)" -eq 0 ] && [ ! -e "$data" ] && ! runuser -u postgres -- test -x "$LOCAL"; then
        # The postgres user cannot reach into this checkout (e.g. a 0700 temp folder): keep the
        # cluster in a private folder of its own and link it from .local/.
        local elsewhere; elsewhere=$(mktemp -d /var/tmp/promptreel-pg.XXXXXX)
        chown postgres "$elsewhere"; chmod 700 "$elsewhere"
        ln -s "$elsewhere" "$data"
    fi
    mkdir -p "$data"
    [ "$(id -u)" -eq 0 ] && chown postgres "$(readlink -f "$data")"
    PGDATA_DIR=$(readlink -f "$data")
    PGSOCK="$PGDATA_DIR/socket"
    PGPORT=${PGPORT:-5432}
    if [ ! -f "$PGDATA_DIR/PG_VERSION" ]; then
        say "creating PostgreSQL cluster in $data"
        as_postgres "$bin/initdb" -D "$PGDATA_DIR" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
        as_postgres mkdir -p "$PGSOCK"
        chmod 700 "$PGSOCK" 2>/dev/null || true
    fi
    if ! as_postgres "$PG_CTL" -D "$PGDATA_DIR" status >/dev/null 2>&1; then
        as_postgres "$PG_CTL" -D "$PGDATA_DIR" -l "$PGDATA_DIR/server.log" -w -t 30 \
            -o "-c listen_addresses='' -c unix_socket_directories='$PGSOCK' -p $PGPORT -c fsync=${PG_FSYNC:-on}" start >/dev/null
    fi
    STARTED_PG=1
    local db=${PGDATABASE_NAME:-promptreel}
    if ! "$bin/psql" -h "$PGSOCK" -p "$PGPORT" -U postgres -Atc "SELECT 1 FROM pg_database WHERE datname='$db'" postgres | grep -q 1; then
        "$bin/createdb" -h "$PGSOCK" -p "$PGPORT" -U postgres "$db"
    fi
    export DATABASE_URL="postgresql:///$db?host=$PGSOCK&port=$PGPORT&user=postgres"
}

stop_postgres() {
    if [ -n "${STARTED_PG:-}" ]; then
        as_postgres "$PG_CTL" -D "$PGDATA_DIR" -m fast -w stop >/dev/null 2>&1 || say "PostgreSQL was not running"
    fi
    STARTED_PG=
}

start_postgres_again() {
    as_postgres "$PG_CTL" -D "$PGDATA_DIR" -l "$PGDATA_DIR/server.log" -w -t 30 \
        -o "-c listen_addresses='' -c unix_socket_directories='$PGSOCK' -p $PGPORT" start >/dev/null
}

migrate() { (cd "$ROOT" && "$BIN" migrate --migrations "$ROOT/Migrations") >&2; }

# Kills what an earlier run left behind (by pid file), so running twice in a row works.
kill_stale() {
    local f
    for f in "$LOCAL"/*.pid; do
        [ -f "$f" ] || continue
        kill "$(cat "$f")" 2>/dev/null && sleep 0.3
        rm -f "$f"
    done
}

# The Videos API simulator on a free loopback port; sets SIM_URL (without /v1).
start_simulator() {
    local bin="${SIM_BIN:-$(dirname "$BIN")/promptreel-sim}"
    rm -f "$LOCAL/sim.port"
    "$bin" --host 127.0.0.1 --port "${SIM_PORT:-0}" --port-file "$LOCAL/sim.port" "$@" >>"$LOCAL/sim.log" 2>&1 &
    SIM_PID=$!
    echo "$SIM_PID" >"$LOCAL/sim.pid"
    PIDS+=("$SIM_PID")
    local i
    for i in $(seq 1 100); do
        if [ -s "$LOCAL/sim.port" ]; then SIM_URL="http://127.0.0.1:$(cat "$LOCAL/sim.port")"; return 0; fi
        sleep 0.05
    done
    say "the simulator did not start; see $LOCAL/sim.log"; return 1
}

# Starts `promptreel serve` in the background; sets APP_PID (also in $LOCAL/app.pid). METRICS_LISTEN
# (HOST:PORT, e.g. 127.0.0.1:9464) also serves the process's own metrics there.
start_app() {
    APP_SOCKET="$LOCAL/app.sock"
    export PROMPTREEL_MEDIA_DIR="${PROMPTREEL_MEDIA_DIR:-$LOCAL/media}"
    mkdir -p "$PROMPTREEL_MEDIA_DIR"
    rm -f "$APP_SOCKET"  # a killed app leaves its socket behind: wait for the new one
    "$BIN" serve --socket "$APP_SOCKET" ${METRICS_LISTEN:+--metrics-listen "$METRICS_LISTEN"} "$@" >>"$LOCAL/app.log" 2>&1 &
    APP_PID=$!
    echo "$APP_PID" >"$LOCAL/app.pid"
    PIDS+=("$APP_PID")
    # Ready once its socket is there; given up on at once if it exits. (The loop's stderr is muted
    # because bash's "Killed" notice for an app killed meanwhile would land there.)
    local i
    for i in $(seq 1 100); do
        [ -S "$APP_SOCKET" ] && return 0
        kill -0 "$APP_PID" 2>/dev/null || break
        sleep 0.05
    done 2>/dev/null
    say "the app did not start; see $LOCAL/app.log"; tail -5 "$LOCAL/app.log" >&2; return 1
}

# Renders nginx/promptreel.conf with local paths into a complete nginx config and starts nginx.
start_nginx() {
    local port=$1 media=${PROMPTREEL_MEDIA_DIR:-$LOCAL/media}
    mkdir -p "$LOCAL/nginx/tmp" "$media"
    sed -e "s#listen 8080;#listen 127.0.0.1:$port;#" \
        -e "s#/srv/promptreel/Public/#$ROOT/Public/#" \
        -e "s#/run/promptreel/promptreel.sock#$LOCAL/app.sock#" \
        -e "s#/var/lib/promptreel/media/#$media/#" \
        -e "s#include fastcgi_params;#include /etc/nginx/fastcgi_params;#" \
        "$ROOT/nginx/promptreel.conf" >"$LOCAL/nginx/promptreel.conf"
    if [[ "${PROMPTREEL_MEDIA_STORE:-}" == s3://* ]]; then
        # The S3 media store's locations, as the app describes them for its configured bucket.
        "$BIN" media nginx >"$LOCAL/nginx/s3-media.conf"
        sed -i -e "s|# include /etc/promptreel/s3-media.conf;|include $LOCAL/nginx/s3-media.conf;|" "$LOCAL/nginx/promptreel.conf"
    fi
    if [ -n "${FASTCGI_KEEPALIVE:-}" ]; then
        # Measurement only (scripts/bench): FastCGI connections kept open between requests.
        sed -i -e "s#fastcgi_pass unix:$LOCAL/app.sock;#fastcgi_keep_conn on; fastcgi_pass promptreel_app;#" "$LOCAL/nginx/promptreel.conf"
        printf 'upstream promptreel_app { server unix:%s; keepalive %s; }\n' "$LOCAL/app.sock" "$FASTCGI_KEEPALIVE" >>"$LOCAL/nginx/promptreel.conf"
    fi
    if [ -n "${APP_UPSTREAM:-}" ]; then
        # Several `promptreel serve` processes (APP_UPSTREAM: their sockets, space-separated) behind one
        # upstream, rendered from nginx/promptreel-upstream.conf.example (tests/test_scaling.py).
        sed -i -e "s#fastcgi_pass unix:$LOCAL/app.sock;#fastcgi_pass promptreel_app;#" "$LOCAL/nginx/promptreel.conf"
        local servers="" sock
        for sock in $APP_UPSTREAM; do servers+="    server unix:$sock max_fails=1 fail_timeout=30s;\n"; done
        sed -e '/^ *server [^{]*;$/d' -e "s#^ *least_conn;#&\n$servers#" -e '/^ *#/d' \
            "$ROOT/nginx/promptreel-upstream.conf.example" >>"$LOCAL/nginx/promptreel.conf"
    fi
    local user_line=""; [ "$(id -u)" -eq 0 ] && user_line="user root;"
    cat >"$LOCAL/nginx/nginx.conf" <<CONF
$user_line
worker_processes 2;
daemon off;
pid $LOCAL/nginx/nginx.pid;
error_log $LOCAL/nginx/error.log warn;
events { worker_connections 1024; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    client_body_temp_path $LOCAL/nginx/tmp/body;
    fastcgi_temp_path $LOCAL/nginx/tmp/fastcgi;
    proxy_temp_path $LOCAL/nginx/tmp/proxy;
    uwsgi_temp_path $LOCAL/nginx/tmp/uwsgi;
    scgi_temp_path $LOCAL/nginx/tmp/scgi;
    include $LOCAL/nginx/promptreel.conf;
}
CONF
    nginx -c "$LOCAL/nginx/nginx.conf" -e "$LOCAL/nginx/error.log" &
    NGINX_PID=$!
    echo "$NGINX_PID" >"$LOCAL/nginx.pid"
    PIDS+=("$NGINX_PID")
    local i
    for i in $(seq 1 100); do
        curl -s -o /dev/null "http://127.0.0.1:$port/static/style.css" && return 0
        sleep 0.05
    done
    say "nginx did not start; see $LOCAL/nginx/error.log"; return 1
}

# A real SMTP listener on loopback (aiosmtpd, Tests/e2e/smtp_listener.py, run by $VENV's Python) that requires AUTH
# and keeps each message it takes as a file in $SMTP_DIR. Sets SMTP_URL (with its credentials).
start_smtp() {  # port
    SMTP_DIR="$LOCAL/mail"
    rm -rf "$SMTP_DIR"; mkdir -p "$SMTP_DIR"
    "$VENV/bin/python" "$ROOT/Tests/e2e/smtp_listener.py" --port "$1" --dir "$SMTP_DIR" \
        --user promptreel --password smtp-test-secret >>"$LOCAL/smtp.log" 2>&1 &
    local pid=$! i
    echo "$pid" >"$LOCAL/smtp.pid"
    PIDS+=("$pid")
    for i in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
            SMTP_URL="smtp://promptreel:smtp-test-secret@127.0.0.1:$1"; return 0
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    say "the SMTP listener did not start; see $LOCAL/smtp.log"; return 1
}

# Drops a pid that has exited (and been waited for) from PIDS, so stop_all never signals it.
forget_pid() {
    local keep=() pid
    for pid in "${PIDS[@]}"; do [ "$pid" = "$1" ] || keep+=("$pid"); done
    PIDS=("${keep[@]}")
}

stop_all() {
    local pid
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    PIDS=()
    rm -f "$LOCAL"/*.pid
    [ -z "${S3_DIR:-}" ] || "$S3_SCRIPT" stop "$S3_DIR" >/dev/null 2>&1 || true
    stop_postgres
}

# OpenStack Swift with its S3 API (../shared/s3/swift-s3.sh, S3-NOTES.md): the real object store the S3 tests run
# against, from Debian's packages without their recommended daemons; its files under $LOCAL/s3. Sets S3_URL.
S3_SCRIPT="$ROOT/../shared/s3/swift-s3.sh"
start_s3() {  # port
    local missing=() p sudo=""
    for p in swift swift-proxy swift-account swift-container swift-object; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        say "installing: ${missing[*]}"
        [ "$(id -u)" -ne 0 ] && sudo=sudo
        $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    "$S3_SCRIPT" stop "$LOCAL/s3" >/dev/null 2>&1 || true
    S3_URL=$("$S3_SCRIPT" start "$LOCAL/s3" "$1" --one-process | tail -1)
    S3_DIR="$LOCAL/s3"
}
