#!/bin/sh
# Print a .env for docker-compose.yml with a fresh random password per NATS user and database role,
# and the notifier's sealing key:
#   sh infra/compose-env.sh > .env && chmod 600 .env
# Passwords start with letters: nats-server reads an all-digit value as a number and refuses it.
set -eu
secret() { printf 'pw-%s' "$(od -An -N18 -tx1 /dev/urandom | tr -d ' \n')"; }
# >>> nats-users (infra/compose.py: one per bus user of accounts.conf)
for user in ADMIN LICENCES NUMBERS PENALTIES PERSONNEL PREMISES PROJECTOR NOTIFIER GATEWAY READER SYS ROUTE; do
# <<< nats-users
    echo "NATS_PW_${user}=$(secret)"
done
for role in ADMIN PROJECTOR NOTIFIER GATEWAY; do
    echo "PG_PW_${role}=$(secret)"
done
# the notifier's key for webhook signing secrets at rest (AES-256-GCM): 32 random bytes, base64;
# keep a copy apart from the database backups (docs/operations.md, "Notifier: webhook secrets at rest")
echo "NOTIFIER_SECRET_KEY=$(head -c 32 /dev/urandom | base64 | tr -d '\n')"
# the projector's checkpoint signing key (Ed25519 seed): 32 random bytes, base64; give auditors its public
# key (`ledger checkpoint-key show`; docs/operations.md, "Checkpoints and audit")
echo "CHECKPOINT_KEY=$(head -c 32 /dev/urandom | base64 | tr -d '\n')"
