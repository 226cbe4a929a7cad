#!/usr/bin/env bash
# A real twin of an lbsim model on this machine: N gunicorn backends running validation/app.py
# behind nginx or HAProxy, on loopback addresses only. Installs what it needs on a fresh
# Debian machine (nginx and haproxy from apt, gunicorn and gevent from PyPI in a virtual
# environment), starts everything, runs COMMAND (or waits for Ctrl-C), then stops everything
# it started (trap on exit).
#
#   validation/twin.sh [options] [-- COMMAND...]
#
#   --balancer nginx|haproxy      (nginx)
#   --strategy S                  nginx: round_robin | least_conn | ip_hash | hash | random2
#                                 haproxy: roundrobin | leastconn            (round_robin / roundrobin)
#   --backends N                  gunicorn backends, 1–4 (3)
#   --workers W                   workers per backend (4)
#   --worker-class C              sync | gthread | gevent (sync)
#   --threads T                   gthread: threads per worker (4)
#   --connections K               gevent: worker_connections (1000)
#   --nginx-workers K             nginx worker_processes (1)
#   --zone                        nginx: share upstream state between worker processes (zone)
#   --maxconn M                   haproxy: per-server maxconn, requests beyond wait in
#                                 HAProxy's queue (default: none)
#   --pin CPUS                    pin every gunicorn backend to these cores (taskset -c CPUS)
#   --nice N                      run the gunicorn backends at this niceness, in a session of
#                                 their own whose autogroup gets it too (with the kernel's
#                                 autogroups a process's nice only counts inside its session):
#                                 -20 keeps a pinned core theirs on a machine busy with others
#   --balancer-pin CPUS           pin nginx / HAProxy to these cores (keep them off the
#                                 backends' cores when those are measured)
#   --port P                      the balancer's port on 127.0.0.1 (18080); backends use P+1…
#   --logs DIR                    keep access logs here (nginx: the `lbsim` log_format of
#                                 docs/validation.md, haproxy: its HTTP log, gunicorn: %(D)s)
#   --timing DIR                  app.py writes DIR/timing-<pid>.csv: per request, when the app
#                                 was entered and left and the worker's CPU time (see app.py)
#
# The balancer is at http://127.0.0.1:PORT/. Requests carry their work in headers
# (X-Io, X-Cpu: seconds; X-Client: the client id, also sent as X-Forwarded-For so that
# nginx's ip_hash sees one address per client); responses name the backend (X-Backend) and
# the worker (X-Worker). Set TWIN_HOME to choose where the virtual environment lives
# (default ~/.cache/lbsim-twin).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
balancer=nginx strategy="" backends=3 workers=4 worker_class=sync threads=4 connections=1000
nginx_workers=1 zone=0 maxconn="" pin="" nice="" balancer_pin="" port=18080 logs="" timing=""
while [ $# -gt 0 ]; do
    case "$1" in
        --balancer) balancer="$2"; shift 2 ;;
        --strategy) strategy="$2"; shift 2 ;;
        --backends) backends="$2"; shift 2 ;;
        --workers) workers="$2"; shift 2 ;;
        --worker-class) worker_class="$2"; shift 2 ;;
        --threads) threads="$2"; shift 2 ;;
        --connections) connections="$2"; shift 2 ;;
        --nginx-workers) nginx_workers="$2"; shift 2 ;;
        --zone) zone=1; shift ;;
        --maxconn) maxconn="$2"; shift 2 ;;
        --pin) pin="$2"; shift 2 ;;
        --nice) nice="$2"; shift 2 ;;
        --balancer-pin) balancer_pin="$2"; shift 2 ;;
        --timing) timing="$2"; shift 2 ;;
        --port) port="$2"; shift 2 ;;
        --logs) logs="$2"; shift 2 ;;
        --) shift; break ;;
        -h|--help) sed -n '2,39p' "$0"; exit 0 ;;
        *) echo "twin.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
if ! [[ "$backends" =~ ^[1-4]$ ]]; then
    echo "twin.sh: --backends must be 1 to 4, got $backends" >&2; exit 2
fi
case "$balancer" in
    nginx) strategy="${strategy:-round_robin}"
        case "$strategy" in round_robin|least_conn|ip_hash|hash|random2) ;;
            *) echo "twin.sh: nginx strategies are round_robin, least_conn, ip_hash, hash, random2; got $strategy" >&2; exit 2 ;;
        esac ;;
    haproxy) strategy="${strategy:-roundrobin}"
        case "$strategy" in roundrobin|leastconn) ;;
            *) echo "twin.sh: haproxy strategies are roundrobin, leastconn; got $strategy" >&2; exit 2 ;;
        esac ;;
    *) echo "twin.sh: --balancer must be nginx or haproxy, got $balancer" >&2; exit 2 ;;
esac
case "$worker_class" in sync|gthread|gevent) ;;
    *) echo "twin.sh: --worker-class must be sync, gthread or gevent, got $worker_class" >&2; exit 2 ;;
esac

# --- install (only what is missing) -------------------------------------------------------
apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    if [ -z "${twin_apt_updated:-}" ]; then apt-get update -qq; twin_apt_updated=1; fi
    # Debian's packages start a system-wide service where an init system runs; the twin
    # never uses it (it runs its own instances from its own configuration).
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
command -v "$balancer" >/dev/null || apt_install "$balancer"
command -v python3 >/dev/null || apt_install python3 python3-venv
venv="${TWIN_HOME:-$HOME/.cache/lbsim-twin}/venv"
if ! "$venv/bin/python" -c 'import gunicorn, gevent, packaging' 2>/dev/null; then
    python3 -m venv "$venv" 2>/dev/null || { apt_install python3-venv; python3 -m venv "$venv"; }
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
fi

# --- start ----------------------------------------------------------------------------------
run="$(mktemp -d /tmp/lbsim-twin.XXXXXX)"
pids=()
stop() {
    local status=$?
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$run"
    exit "$status"
}
trap stop EXIT
trap 'exit 130' INT TERM

log_dir="${logs:-$run}"
mkdir -p "$log_dir"
if [ -n "$timing" ]; then
    mkdir -p "$timing"
    export TWIN_TIMING="$(cd "$timing" && pwd)"
fi
balancer_prefix=()
if [ -n "$balancer_pin" ]; then balancer_prefix=(taskset -c "$balancer_pin"); fi
servers=""
for i in $(seq 1 "$backends"); do
    bport=$((port + i))
    args=(--workers "$workers" --worker-class "$worker_class" --bind "127.0.0.1:$bport"
          --backlog 2048 --chdir "$here" --graceful-timeout 1 --log-level warning --no-control-socket
          --access-logfile "$log_dir/gunicorn-b$i.log"
          --access-logformat '%(t)s "%(r)s" %(s)s %(b)s %(p)s %(D)s')
    case "$worker_class" in
        gthread) args+=(--threads "$threads") ;;
        gevent) args+=(--worker-connections "$connections") ;;
    esac
    prefix=()
    if [ -n "$pin" ]; then prefix=(taskset -c "$pin"); fi
    if [ -n "$nice" ]; then
        # shellcheck disable=SC2016 # expanded by the inner shell: $0 = N, $@ = gunicorn …
        prefix+=(setsid sh -c 'echo "$0" >/proc/self/autogroup 2>/dev/null; exec nice -n "$0" "$@"' "$nice")
    fi
    TWIN_BACKEND="b$i" "${prefix[@]}" "$venv/bin/gunicorn" "${args[@]}" app:app &
    pids+=($!)
    servers+="$bport "
done

case "$balancer" in
nginx)
    case "$strategy" in
        round_robin) method="" ;;
        least_conn) method="least_conn;" ;;
        ip_hash) method="ip_hash;" ;;
        hash) method="hash \$http_x_client consistent;" ;;
        random2) method="random two least_conn;" ;;
    esac
    zone_line=""
    if [ "$zone" = 1 ]; then zone_line="zone backends 64k;"; fi
    upstream=""
    for p in $servers; do upstream+="        server 127.0.0.1:$p;"$'\n'; done
    mkdir -p "$run/nginx"
    cat >"$run/nginx/nginx.conf" <<CONF
worker_processes $nginx_workers;
daemon off;
master_process on;
pid $run/nginx/nginx.pid;
error_log $run/nginx/error.log warn;
events { worker_connections 8192; }
http {
    # lbsim fit --format nginx reads this format: the time the response finished (\$msec,
    # epoch seconds with ms), the request time, the upstream response time, the status, the
    # client (X-Client header), the upstream address.
    log_format lbsim '\$msec \$request_time \$upstream_response_time \$status \$http_x_client \$upstream_addr';
    access_log $log_dir/nginx-access.log lbsim;
    client_body_temp_path $run/nginx;
    proxy_temp_path $run/nginx;
    fastcgi_temp_path $run/nginx;
    uwsgi_temp_path $run/nginx;
    scgi_temp_path $run/nginx;
    # ip_hash hashes the client address: take it from X-Forwarded-For (the load generator
    # sends one address per client) since every request really comes from 127.0.0.1.
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Forwarded-For;
    upstream backends {
        $method
        $zone_line
$upstream    }
    server {
        listen 127.0.0.1:$port backlog=4096;
        location / {
            proxy_pass http://backends;
            proxy_next_upstream off;
            proxy_read_timeout 300s;
        }
    }
}
CONF
    "${balancer_prefix[@]}" nginx -p "$run/nginx" -c "$run/nginx/nginx.conf" -e "$run/nginx/error.log" &
    pids+=($!)
    ;;
haproxy)
    server_lines=""
    n=1
    for p in $servers; do
        server_lines+="    server b$n 127.0.0.1:$p${maxconn:+ maxconn $maxconn}"$'\n'; n=$((n + 1))
    done
    cat >"$run/haproxy.cfg" <<CONF
global
    maxconn 8192
    log stdout format raw local0
defaults
    mode http
    timeout connect 5s
    timeout client 300s
    timeout server 300s
    timeout queue 300s
    option http-server-close
    log global
    # lbsim fit --format haproxy reads HAProxy's default HTTP log, whose
    # Tq/Tw/Tc/Tr/Tt timers are the 5 slash-separated fields after the backend/server.
    option httplog
    # The readiness probes of this script connect and close without a request: not logged.
    option dontlognull
frontend twin
    bind 127.0.0.1:$port
    default_backend backends
backend backends
    balance $strategy
$server_lines
CONF
    "${balancer_prefix[@]}" haproxy -f "$run/haproxy.cfg" -db >"$log_dir/haproxy.log" 2>&1 &
    pids+=($!)
    ;;
esac

# Wait until the balancer and every backend answer.
for attempt in $(seq 1 100); do
    ok=1
    for p in $port $servers; do
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { ok=0; break; }
    done
    [ "$ok" = 1 ] && break
    sleep 0.1
done
if [ "$ok" != 1 ]; then echo "twin.sh: the twin did not come up within 10 s" >&2; exit 1; fi
echo "twin: $balancer $strategy over $backends × $workers $worker_class workers on http://127.0.0.1:$port/" >&2

if [ $# -gt 0 ]; then
    "$@"
else
    echo "twin: running; Ctrl-C stops it" >&2
    while true; do sleep 1; done
fi
