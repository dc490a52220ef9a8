"""Who may do what on the bus: the one list of NATS users and their subjects.

There is one user per installed service (``ledger_kernel.services``): a domain service's rights
follow from the aggregate types its spec declares; the projector, notifier and gateway have
rights of their own, written here.

The embedded server (``ledger up``) and compose's ``infra/nats/accounts.conf`` are both rendered
from :data:`USERS`, so a service has the same rights on a laptop as in a cluster (a test checks
the file matches). Subjects are ``ledger.<tenant>.<company>.<aggregate_type>.<aggregate_id>``:
a domain service may append only to its own aggregate types; only the projector raises alerts
and writes checkpoints; only the notifier publishes ``notify.<tenant>.…``; no service may
create, delete or purge a stream (the ``admin`` user provisions, at ``ledger up`` or in the
compose provisioning job).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ledger_kernel.services import ServiceKind, ServiceSpec, ServiceSpecError, discover
from ledger_kernel.subjects import check_token

CHECKPOINTS = "CHECKPOINTS"
CHECKPOINT_SUBJECT = "checkpoints.ledger"
SYSTEM_FACTS = "ledger._system.>"

# The aggregate types each domain service owns, from its spec (its aggregates.py agrees; a test checks).
AGGREGATE_TYPES: dict[str, tuple[str, ...]] = {s.name: s.aggregates for s in discover() if s.kind is ServiceKind.domain}


def stream_reads(stream: str) -> tuple[str, ...]:
    """Read one stream by sequence or subject (direct get, batched too) and its info."""
    return (f"$JS.API.STREAM.INFO.{stream}", f"$JS.API.DIRECT.GET.{stream}", f"$JS.API.DIRECT.GET.{stream}.>",
            f"$JS.API.STREAM.MSG.GET.{stream}")


def consuming(stream: str) -> tuple[str, ...]:
    """Create, use and remove consumers on one stream (never the stream itself)."""
    return (f"$JS.API.CONSUMER.CREATE.{stream}", f"$JS.API.CONSUMER.CREATE.{stream}.>",
            f"$JS.API.CONSUMER.DURABLE.CREATE.{stream}.>", f"$JS.API.CONSUMER.INFO.{stream}.>",
            f"$JS.API.CONSUMER.DELETE.{stream}.>", f"$JS.API.CONSUMER.MSG.NEXT.{stream}.>",
            f"$JS.ACK.{stream}.>", f"$JS.FC.{stream}.>")


STREAM_INFO = ("$JS.API.INFO", "$JS.API.STREAM.INFO.LEDGER", "$JS.API.STREAM.INFO.ALERTS",
               f"$JS.API.STREAM.INFO.{CHECKPOINTS}")
KV = "KV_company_summaries"
PARTITIONED = "LEDGER_P"  # ledger_kernel.partitions.STREAM
LEASES = "projector_leases"  # ledger_projector.leases.BUCKET


@dataclass(frozen=True)
class BusUser:
    """One NATS user of the LEDGER account: what it may publish and subscribe to, and why."""

    name: str
    role: str
    publish: tuple[str, ...] = ()
    subscribe: tuple[str, ...] = ("_INBOX.>",)
    deny_publish: tuple[str, ...] = ()
    allow_responses: bool = True
    in_compose: bool = True
    everything: bool = False  # admin: provisioning only

    def permissions(self) -> str:
        if self.everything:
            return ""
        parts = [f"publish: {{allow: {_list(self.publish)}"
                 + (f", deny: {_list(self.deny_publish)}" if self.deny_publish else "") + "}",
                 f"subscribe: {{allow: {_list(self.subscribe)}}}"]
        if self.allow_responses:
            parts.append("allow_responses: true")
        return ", permissions: {\n  " + "\n  ".join(parts) + "\n}"


def _list(subjects: Iterable[str]) -> str:
    return "[" + ", ".join(f'"{s}"' for s in subjects) + "]"


def domain_service(name: str, aggregates: tuple[str, ...]) -> BusUser:
    own = tuple(f"ledger.*.*.{t}.*" for t in aggregates)
    return BusUser(
        name, f"answers cmd.{name}; appends only {', '.join(aggregates)} facts",
        publish=(*own, f"cmd.{name}", *STREAM_INFO, *stream_reads("LEDGER")[1:]),
        subscribe=(f"cmd.{name}", "_INBOX.>"), deny_publish=(SYSTEM_FACTS,))


PROJECTOR = BusUser(
    "projector", "reads LEDGER; the only publisher of alerts, checkpoints and system facts; answers query.projector",
    publish=("query.projector", "alerts.>", CHECKPOINT_SUBJECT, SYSTEM_FACTS, "$KV.company_summaries.>",
             *STREAM_INFO, *stream_reads("LEDGER")[1:], *consuming("LEDGER"), *stream_reads("ALERTS")[1:],
             *stream_reads(CHECKPOINTS)[1:], *stream_reads(KV), f"$JS.API.STREAM.CREATE.{KV}",
             f"$JS.API.STREAM.UPDATE.{KV}",
             # the partitioned mode: its copy of LEDGER by company, and the workers' leases
             *stream_reads(PARTITIONED), f"$JS.API.STREAM.CREATE.{PARTITIONED}", f"$KV.{LEASES}.>",
             *stream_reads(f"KV_{LEASES}"), f"$JS.API.STREAM.CREATE.KV_{LEASES}"),
    subscribe=("query.projector", "_INBOX.>"))

NOTIFIER = BusUser(
    "notifier", "consumes ALERTS; the only publisher of notify.<tenant>.…; answers its own API; asks the projector "
                "what is due now (a new subscription's catch-up)",
    publish=("notify.>", "cmd.notifier", "query.notifier", "query.projector", *STREAM_INFO, *stream_reads("ALERTS")[1:],
             *consuming("ALERTS")),
    subscribe=("cmd.notifier", "query.notifier", "_INBOX.>"))

GATEWAY = BusUser(
    "gateway", "requests to services only (cmd.*, query.*); reads company summaries; never appends",
    publish=("cmd.*", "query.*", *STREAM_INFO, *stream_reads(KV), f"$JS.API.CONSUMER.CREATE.{KV}",
             f"$JS.API.CONSUMER.CREATE.{KV}.>", f"$JS.API.CONSUMER.DELETE.{KV}.>", f"$JS.FC.{KV}.>"),
    allow_responses=False)

CLI = BusUser(
    "cli", "the ledger command line: requests, ledger verify, rebuild, calendar load (system facts), checkpoints",
    publish=("cmd.*", "query.*", SYSTEM_FACTS, *STREAM_INFO, *stream_reads("LEDGER")[1:], *consuming("LEDGER"),
             *stream_reads("ALERTS")[1:], *stream_reads(CHECKPOINTS)[1:], *consuming(CHECKPOINTS)),
    allow_responses=False, in_compose=False)

ADMIN = BusUser("admin", "provisioning (creates streams) at `ledger up` and in the compose job; operators",
                everything=True)

OWN_RIGHTS = {u.name: u for u in (PROJECTOR, NOTIFIER, GATEWAY)}


def service_user(spec: ServiceSpec) -> BusUser:
    """A service's bus user: a domain service's from its aggregate types, the others' as written above."""
    if spec.kind is ServiceKind.domain:
        return domain_service(spec.name, spec.aggregates)
    if spec.name not in OWN_RIGHTS:
        raise ServiceSpecError(f"service {spec.name} ({spec.kind}) has no bus rights: write them in "
                               f"ledger_kernel.bus_access")
    return OWN_RIGHTS[spec.name]


SERVICES: tuple[BusUser, ...] = tuple(service_user(spec) for spec in discover())


def single_process() -> BusUser:
    """``ledger up --single-process``: every service on one connection, so the union of their rights."""
    def union(field: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s for u in SERVICES for s in getattr(u, field)))
    return BusUser("stack", "ledger up --single-process: every service on one connection",
                   publish=union("publish"), subscribe=union("subscribe"), in_compose=False)


USERS: tuple[BusUser, ...] = (ADMIN, *SERVICES, CLI, single_process())


def user(name: str) -> BusUser:
    for u in USERS:
        if u.name == name:
            return u
    raise KeyError(name)


def stream_reader(name: str, tenant: str | None) -> BusUser:
    """Read-only stream credentials: one tenant's ledger (or every tenant's, for an operator).

    The live feeds ``ledger.<tenant>.>``, ``alerts.<tenant>.>`` and ``notify.<tenant>.>``, and one consumer on LEDGER named like the credential, filtered
    to the tenant (the filter is part of the create subject, so no other filter is accepted; the fixed
    name keeps it from touching anyone else's consumer). Replies come to ``_INBOX.<name>.>`` only.
    Publishes nothing into ``ledger.>``, ``cmd.*`` or ALERTS.
    """
    check_token("credential name", name)
    scope = f"ledger.{check_token('tenant', tenant)}.>" if tenant else "ledger.>"
    # the tenant's alerts and notifications as they are published (live, read-only)
    live = (f"alerts.{tenant}.>", f"notify.{tenant}.>") if tenant else ("alerts.>", "notify.>")
    create = f"$JS.API.CONSUMER.CREATE.LEDGER.{name}.{scope}"
    reads: tuple[str, ...] = (f"$JS.API.CONSUMER.CREATE.LEDGER.{name}",) if tenant is None else ()
    if tenant is None:  # an operator: the whole stream by sequence too
        reads += stream_reads("LEDGER")[1:]
    return BusUser(
        name, f"read-only stream credentials for {'tenant ' + tenant if tenant else 'every tenant'}",
        publish=("$JS.API.INFO", "$JS.API.STREAM.INFO.LEDGER", create, *reads,
                 f"$JS.API.CONSUMER.INFO.LEDGER.{name}", f"$JS.API.CONSUMER.DELETE.LEDGER.{name}",
                 f"$JS.API.CONSUMER.MSG.NEXT.LEDGER.{name}", f"$JS.ACK.LEDGER.{name}.>",
                 *stream_reads(CHECKPOINTS)),
        subscribe=(scope, *live, f"_INBOX.{name}.>"), allow_responses=False, in_compose=False)


def users_block(users: Iterable[BusUser], password: Callable[[BusUser], str], indent: str = "      ") -> str:
    """The ``users: [...]`` entries of the LEDGER account, one user per entry."""
    lines = []
    for u in users:
        entry = f"{{user: {u.name}, password: {password(u)}{u.permissions()}}}"
        lines.append("\n".join(indent + line for line in entry.splitlines()))
    return "\n".join(lines)


COMPOSE_HEADER = """\
# Accounts and users of the ledger's NATS cluster (included by cluster.conf and cluster-local.conf).
#
# GENERATED from libs/kernel/src/ledger_kernel/bus_access.py (the one list of who may do what):
#   .venv/bin/python -m ledger_kernel.bus_access > infra/nats/accounts.conf
# tests/infra/test_compose_accounts.py checks this file matches it. Do not edit by hand.
#
# Two accounts, plus the system account:
#   LEDGER   the ledger's own services, one user each, each limited to the subjects it needs:
#            a domain service appends only its own aggregate types, only the projector publishes
#            alerts and checkpoints, only the notifier publishes notify.>, no service may create,
#            delete or purge a stream (admin provisions).
#   READERS  other systems that consume the event stream: read-only. They see LEDGER through
#            imports only (batched direct get, stream info, the live ledger.> feed) and cannot
#            publish anywhere in the ledger's account.
#   SYS      monitoring ($SYS.>) for operators.
#
# Passwords come from the environment (no secrets in this repository): NATS_PW_<USER>.
# A password that is all digits is read as a number and refused: use e.g. `pw-$(openssl rand -hex 24)`.
"""

COMPOSE_READERS = """\
    # What READERS may see of this account: read-only views of LEDGER and CHECKPOINTS.
    exports: [
      # batched direct get answers with several messages, so the response type is a stream
      {service: "$JS.API.DIRECT.GET.LEDGER", response_type: stream, accounts: [READERS]}
      {service: "$JS.API.DIRECT.GET.LEDGER.>", accounts: [READERS]}
      {service: "$JS.API.STREAM.INFO.LEDGER", accounts: [READERS]}
      {service: "$JS.API.DIRECT.GET.CHECKPOINTS.>", accounts: [READERS]}
      # the live feed, as published (no replay: catch up with direct get by sequence)
      {stream: "ledger.>", accounts: [READERS]}
    ]
  }

  READERS {
    users: [
      {user: reader, password: $NATS_PW_READER, permissions: {
        publish: {allow: ["$JS.API.DIRECT.GET.LEDGER", "$JS.API.DIRECT.GET.LEDGER.>", "JS.ledger.API.STREAM.INFO.LEDGER",
                          "$JS.API.DIRECT.GET.CHECKPOINTS.>"]}
        subscribe: {allow: ["ledger.>", "_INBOX.>"]}
      }}
    ]
    imports: [
      # direct get is answered by the stream itself, so the subject keeps its name (LedgerStore works as is)
      {service: {account: LEDGER, subject: "$JS.API.DIRECT.GET.LEDGER"}}
      {service: {account: LEDGER, subject: "$JS.API.DIRECT.GET.LEDGER.>"}}
      {service: {account: LEDGER, subject: "$JS.API.DIRECT.GET.CHECKPOINTS.>"}}
      # JetStream's own API subjects are not routed out of an account without JetStream: stream info
      # is reached under a prefix (nats-py: nc.jetstream(prefix="JS.ledger.API").stream_info("LEDGER"))
      {service: {account: LEDGER, subject: "$JS.API.STREAM.INFO.LEDGER"}, to: "JS.ledger.API.STREAM.INFO.LEDGER"}
      {stream: {account: LEDGER, subject: "ledger.>"}}
    ]
  }

  SYS {
    users: [{user: sys, password: $NATS_PW_SYS}]
  }
}

system_account: SYS
"""


def compose_accounts() -> str:
    """``infra/nats/accounts.conf``: passwords from ``$NATS_PW_<USER>``."""
    users = users_block((u for u in USERS if u.in_compose), lambda u: f"$NATS_PW_{u.name.upper()}")
    return (f"{COMPOSE_HEADER}\naccounts {{\n  LEDGER {{\n    jetstream: enabled\n\n    users: [\n{users}\n    ]\n\n"
            f"{COMPOSE_READERS}")


def embedded_accounts(passwords: dict[str, str], readers: Iterable[BusUser] = ()) -> str:
    """The embedded server's accounts: every user (and the stream readers) with its password."""
    users = users_block((*USERS, *readers), lambda u: _quoted(passwords[u.name]))
    return f"accounts {{\n  LEDGER {{\n    jetstream: enabled\n    users: [\n{users}\n    ]\n  }}\n}}\n"


def _quoted(password: str) -> str:
    if not password or any(c in password for c in '"\\\n'):
        raise ValueError("a bus password must be non-empty, without quotes, backslashes or newlines")
    return f'"{password}"'


if __name__ == "__main__":
    print(compose_accounts(), end="")
