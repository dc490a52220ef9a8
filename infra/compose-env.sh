#!/bin/sh
# Print a .env for docker-compose.yml with a fresh random password per NATS user and database role:
#   sh infra/compose-env.sh > .env && chmod 600 .env
# Passwords start with letters: nats-server reads an all-digit value as a number and refuses it.
set -eu
secret() { printf 'pw-%s' "$(od -An -N18 -tx1 /dev/urandom | tr -d ' \n')"; }
for user in ADMIN LICENCES NUMBERS PERSONNEL PREMISES PENALTIES PROJECTOR NOTIFIER GATEWAY READER SYS ROUTE; do
    echo "NATS_PW_${user}=$(secret)"
done
for role in ADMIN PROJECTOR NOTIFIER GATEWAY; do
    echo "PG_PW_${role}=$(secret)"
done
