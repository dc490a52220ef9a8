#!/bin/sh
# First start of the PostgreSQL container only (docker-entrypoint-initdb.d): one role and one
# database per service that keeps SQL state, each password from the environment:
#   ledger_projector  the read model            (PG_PW_PROJECTOR)
#   ledger_notifier   subscriptions, deliveries (PG_PW_NOTIFIER)
#   ledger_gateway    tenants, API keys         (PG_PW_GATEWAY)
set -eu
for service in projector notifier gateway; do
    var="PG_PW_$(echo "$service" | tr '[:lower:]' '[:upper:]')"
    password="$(printenv "$var" || true)"
    if [ -z "$password" ]; then
        echo "init-databases: $var is not set" >&2
        exit 1
    fi
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
         -v role="ledger_$service" -v password="$password" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password';
CREATE DATABASE :"role" OWNER :"role" ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE :"role" FROM PUBLIC;
SQL
done
