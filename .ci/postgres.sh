# A throwaway PostgreSQL server for tests/test_search_postgres.py (two search workers sharing one study in it).
#
#   source .ci/postgres.sh && postgres_start    # exports SST2_TEST_POSTGRES_URL; postgres_stop stops it, removes it
#
# Debian's `postgresql` package is installed when no server is found (root only). The cluster lives in a fresh
# temporary folder, listens on 127.0.0.1 only, on a free port, with a role whose random password is only ever in the
# exported URL (the test checks it reaches no file or output). The server refuses to run as root: as root it runs as
# the `postgres` user the package creates.

postgres_bin() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

postgres_start() {
    local bin
    bin="$(postgres_bin)"
    if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
        if [ "$(id -u)" -ne 0 ]; then
            echo "postgres.sh: no PostgreSQL server found and not root to install it; the PostgreSQL test will skip" >&2
            return 0
        fi
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
        bin="$(postgres_bin)"
    fi
    local as=()
    if [ "$(id -u)" -eq 0 ]; then
        as=(runuser -u postgres --)
    fi
    SST2_PG_DIR="$(mktemp -d /tmp/sst2-postgres.XXXXXX)"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$SST2_PG_DIR"
    local port password
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    password="$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
    "${as[@]}" "$bin/initdb" -D "$SST2_PG_DIR/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    "${as[@]}" "$bin/pg_ctl" -D "$SST2_PG_DIR/data" -l "$SST2_PG_DIR/server.log" -w \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $SST2_PG_DIR" start >/dev/null
    printf "CREATE ROLE sst2 LOGIN PASSWORD '%s';\nCREATE DATABASE sst2_search OWNER sst2;\n" "$password" |
        "${as[@]}" "$bin/psql" -h "$SST2_PG_DIR" -p "$port" -U postgres -q -v ON_ERROR_STOP=1 >/dev/null
    export SST2_PG_BIN="$bin" SST2_PG_DIR
    export SST2_TEST_POSTGRES_URL="postgresql://sst2:$password@127.0.0.1:$port/sst2_search"
    echo "postgres.sh: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (data in $SST2_PG_DIR)"
}

postgres_stop() {
    if [ -n "${SST2_PG_DIR:-}" ] && [ -d "$SST2_PG_DIR/data" ]; then
        local as=()
        [ "$(id -u)" -eq 0 ] && as=(runuser -u postgres --)
        "${as[@]}" "$SST2_PG_BIN/pg_ctl" -D "$SST2_PG_DIR/data" -m fast -w stop >/dev/null || true
        rm -rf "$SST2_PG_DIR"
        echo "postgres.sh: PostgreSQL stopped, $SST2_PG_DIR removed"
    fi
    unset SST2_TEST_POSTGRES_URL SST2_PG_DIR
}
