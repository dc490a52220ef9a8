"""The fact endpoint every domain service runs: one request in, at most one event out, always a reply.

``FactService`` answers ``cmd.<service>`` (queue group = the service name):
parse the request, validate the fact with ``ledger_contracts`` against the
clock's Asia/Shanghai today, check the owner, derive the aggregate address,
let the kernel's :class:`~ledger_kernel.repository.Repository` decide and
append, and map each outcome to a reply of docs/internal-protocol.md. Nothing
raised here reaches faststream, so a caller never meets silence.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
import weakref
from collections import Counter, deque
from collections.abc import Awaitable, Iterable, Mapping
from datetime import date
from enum import Enum
from typing import Any, Final, Literal

from faststream.nats import NatsRouter
from ledger_contracts.catalogue import CATALOGUE, FactSpec
from ledger_contracts.errors import FactRejected, FieldError
from ledger_contracts.fact import ValidFact, validate_fact
from ledger_kernel import deadline as deadlines
from ledger_kernel.aggregate import Aggregate, Command, IntegrityError, Refused
from ledger_kernel.clock import Clock, local_today
from ledger_kernel.repository import Conflict, Contended, IdempotencyMismatch, Repository
from ledger_kernel.runtime import ServiceContext
from ledger_kernel.store import StoreUnavailable
from ledger_kernel.subjects import AggregateAddress, SubjectError
from ledger_kernel.telemetry import context_from, current_traceparent, meter, tracer
from nats.js.errors import APIError
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.trace import SpanKind, Status, StatusCode

from ledger_domain import protocol
from ledger_domain.schema import WireRequest, batch_model, event_model, request_model, types_of
from ledger_domain.settings import CommandSettings

log = logging.getLogger(__name__)

ERR_MESSAGE_TOO_LARGE = 10054  # JetStream: the message exceeds the stream's max_msg_size
BATCH_LANES = 256  # aggregates of one batch appended side by side (their publishes pipelined on the connection)

_meter = meter("ledger.domain")
_appended = _meter.create_counter("ledger.facts.appended", description="Facts appended as events")
_duplicates = _meter.create_counter("ledger.facts.duplicates", description="Retried facts answered from the ledger")
_refused = _meter.create_counter("ledger.facts.refused", description="Facts refused, by reply code")
_tracer = tracer("ledger.domain")
_running: weakref.WeakSet[FactService] = weakref.WeakSet()


def _observe_conflicts(_options: CallbackOptions) -> Iterable[Observation]:
    totals: Counter[str] = Counter()
    for service in list(_running):
        totals[service.name] += service.conflicts
    return [Observation(n, {"service": name}) for name, n in totals.items()]


_meter.create_observable_counter("ledger.append.conflicts", callbacks=[_observe_conflicts],
                                 description="Appends that lost an optimistic-concurrency race and were re-decided")


class _Trace(Enum):
    CURRENT = "current"


_CURRENT: Final = _Trace.CURRENT  # _prepare's default: read the current trace context


class CatalogueMismatch(RuntimeError):
    """A service's aggregates do not cover, or name something outside, the catalogue."""


def _check_aggregates(service: str, aggregates: Mapping[str, type[Aggregate]]) -> dict[str, FactSpec]:
    """The service's fact types; refuse to start if an aggregate is missing or a handler names no fact type.

    A typo in ``check_licence_renwed`` would otherwise silently skip an invariant.
    """
    specs = {t: CATALOGUE[t] for t in types_of(service)}
    if not specs:
        raise CatalogueMismatch(f"the catalogue has no fact types owned by {service!r}")
    needed = {s.aggregate_type for s in specs.values()}
    if set(aggregates) != needed:
        raise CatalogueMismatch(f"{service}: aggregates {sorted(aggregates)} but the catalogue needs {sorted(needed)}")
    for aggregate_type, cls in aggregates.items():
        if cls.aggregate_type != aggregate_type:
            raise CatalogueMismatch(f"{cls.__name__}.aggregate_type is {cls.aggregate_type!r}, not {aggregate_type!r}")
        own = {t.replace(".", "_") for t, s in specs.items() if s.aggregate_type == aggregate_type}
        for name in dir(cls):
            for prefix in ("check_", "on_"):
                if name.startswith(prefix) and callable(getattr(cls, name)) and name[len(prefix):] not in own:
                    raise CatalogueMismatch(f"{cls.__name__}.{name} names no {aggregate_type}.* fact type")
    return specs


class FactService:
    """A domain service: its aggregates plus the generic fact endpoint (the kernel's Service protocol)."""

    def __init__(self, name: str, aggregates: Mapping[str, type[Aggregate]], *, description: str = "",
                 max_workers: int | None = None, cache_size: int = 10_000) -> None:
        self.name = name
        self.subject = f"cmd.{name}"
        self.source = f"urn:ledger:{name}"
        self.aggregates = dict(aggregates)
        self.specs = _check_aggregates(name, self.aggregates)
        self.cache_size = cache_size
        self.stats: Counter[str] = Counter()  # appended, duplicates, and one count per refusal code
        self._repository: Repository | None = None
        self._clock: Clock | None = None
        self._conflicts_before = 0
        self.router = self._router(description, max_workers or CommandSettings.from_env().cmd_workers)

    # --- faststream wiring ---------------------------------------------------------------

    def _router(self, description: str, max_workers: int) -> NatsRouter:
        router = NatsRouter()
        model = request_model(self.name)

        async def carry(message: Any, _original: Any = None) -> WireRequest:
            """The faststream decoder: hand the raw bytes and headers over untouched.

            The instance is not validated (faststream passes a model instance through as is): the
            typed annotation below only describes the request in the AsyncAPI document.
            """
            return model.carrying(message.body, message.headers)

        async def record_fact(request: WireRequest) -> dict[str, Any]:
            return await self.handle(request._raw, request._headers)

        # Replaced whole, which drops the return annotation too: faststream would cast the reply by it.
        record_fact.__annotations__ = {"request": model | batch_model(self.name)}
        router.subscriber(
            self.subject, queue=self.name, max_workers=max_workers, decoder=carry, title=self.subject,
            description=description or f"Record one fact owned by the {self.name} service; replies with the event "
                                       "or a refusal (docs/internal-protocol.md).",
        )(record_fact)
        for aggregate_type in self.aggregates:
            router.publisher(
                f"ledger.{{tenant}}.{{company}}.{aggregate_type}.{{aggregate_id}}",
                schema=event_model(aggregate_type), title=f"ledger.{aggregate_type}",
                description=(f"Stream LEDGER: every {aggregate_type}.* fact as one CloudEvent, appended by the "
                             f"{self.name} service (append-only; per-aggregate hash chain)."),
            )
        return router

    async def start(self, ctx: ServiceContext) -> None:
        self._clock = ctx.clock
        self._repository = Repository(ctx.ledger(), self.source, clock=ctx.clock, cache_size=self.cache_size)
        _running.add(self)

    async def stop(self) -> None:
        _running.discard(self)
        self._conflicts_before = self.conflicts
        self._repository = None

    @property
    def conflicts(self) -> int:
        """Appends that lost a race and were re-decided (the kernel counts them; kept across restarts)."""
        return self._conflicts_before + (self._repository.conflicts if self._repository is not None else 0)

    # --- the endpoint -----------------------------------------------------------------------

    async def handle(self, raw: bytes, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Answer one ``cmd.<service>`` request (one fact, or a batch of them); never raises."""
        parent = context_from(headers) if headers and "traceparent" in headers else None
        with _tracer.start_as_current_span(f"{self.subject} record", context=parent, kind=SpanKind.SERVER,
                                           record_exception=False, set_status_on_exception=False) as span:
            try:
                if self._repository is None or self._clock is None:
                    raise protocol.unavailable(f"the {self.name} service is not started")
                deadline = protocol.parse_deadline(headers)
                if deadline is not None and deadlines.passed(deadline):
                    raise protocol.deadline_exceeded()
                request = protocol.parse_request(raw)
                if isinstance(request, protocol.BatchRequest):
                    span.set_attribute("ledger.batch_size", len(request.items))
                    return {"ok": True, "results": await self._batch(request, deadline)}
                reply = await self._guarded(self._one(request, span, deadline))
            except protocol.Problem as problem:
                reply = self._count(problem.reply())
            except Exception as exc:  # a bug before any fact was judged: still an answer
                log.exception("%s failed", self.subject, extra={"service": self.name})
                reply = self._count(protocol.internal_error(f"{type(exc).__name__}").reply())
            if not reply["ok"]:
                span.set_attribute("ledger.refusal", reply["code"])
                if reply["status"] >= 500:
                    span.set_status(Status(StatusCode.ERROR, reply["code"]))
            return reply

    async def _guarded(self, outcome: Awaitable[dict[str, Any]]) -> dict[str, Any]:
        """The reply of one fact, whatever happens: a Problem becomes its reply, a bug a 500."""
        try:
            reply = await outcome
        except protocol.Problem as problem:
            reply = problem.reply()
        except Exception as exc:  # a bug or an unforeseen failure: answer, log, never go silent
            log.exception("%s failed", self.subject, extra={"service": self.name})
            reply = protocol.internal_error(f"{type(exc).__name__}").reply()
        return self._count(reply)

    def _count(self, reply: dict[str, Any]) -> dict[str, Any]:
        if reply["ok"]:
            key = "duplicates" if reply["duplicate"] else "appended"
            self.stats[key] += 1
            (_duplicates if reply["duplicate"] else _appended).add(1, {"service": self.name, "type": reply["type"]})
        else:
            self.stats[reply["code"]] += 1
            _refused.add(1, {"service": self.name, "code": reply["code"]})
        return reply

    async def _one(self, request: protocol.FactRequest, span: Any, deadline: float | None) -> dict[str, Any]:
        command, address, fact = self._prepare(request)
        span.set_attribute("ledger.fact_type", fact.type)
        span.set_attribute("ledger.tenant", request.tenant)
        reply = await self._execute(command, address, fact, deadline)
        span.set_attribute("ledger.sequence", reply["ledger_sequence"])
        return reply

    async def _batch(self, batch: protocol.BatchRequest, deadline: float | None = None) -> list[dict[str, Any]]:
        """Every item judged on its own; items landing on one aggregate are applied in the order given.

        Aggregates go side by side, at most :data:`BATCH_LANES` at once: their appends are pipelined on
        the connection (each with its own expected sequence), while one aggregate's wait for each
        other's acks, since an append's expected sequence is the previous one's stream position.
        """
        results: list[dict[str, Any] | None] = [None] * len(batch.items)
        queues: dict[str, list[tuple[int, Command, AggregateAddress, ValidFact]]] = {}
        first_use: dict[str, str] = {}  # command id → the aggregate its first item lands on
        assert self._clock is not None
        today, traceparent = local_today(self._clock), current_traceparent()  # the same for every item
        for index, item in enumerate(batch.items):
            try:
                if isinstance(item, protocol.Problem):
                    raise item
                command, address, fact = self._prepare(item, today, traceparent)
                if first_use.setdefault(command.command_id, address.subject) != address.subject:
                    raise protocol.idempotency_key_reused(
                        f"command id {command.command_id} is used earlier in this batch for another aggregate")
            except protocol.Problem as problem:
                results[index] = self._count(problem.reply())
            else:
                queues.setdefault(address.subject, []).append((index, command, address, fact))

        waiting = deque(queues.values())

        async def lane() -> None:
            while waiting:
                for index, command, address, fact in waiting.popleft():
                    results[index] = await self._guarded(self._execute(command, address, fact, deadline))

        await asyncio.gather(*(lane() for _ in range(min(BATCH_LANES, len(waiting)))))
        return results  # type: ignore[return-value]  # every index is filled above

    def _prepare(self, request: protocol.FactRequest, today: date | None = None,
                 traceparent: str | None | Literal[_Trace.CURRENT] = _CURRENT) -> tuple[Command, AggregateAddress, ValidFact]:
        """Validate the fact and decide where it goes; raise a Problem if it cannot go anywhere.

        A batch passes ``today`` and ``traceparent`` once for all its items (they are the same).
        """
        assert self._clock is not None
        try:
            fact = validate_fact(request.fact, today=today or local_today(self._clock))
        except FactRejected as rejected:
            raise protocol.invalid_fact(rejected) from None
        if fact.type not in self.specs:
            raise protocol.wrong_service(self.name, fact.type, fact.owner)
        data = fact.data_json()
        try:
            address = AggregateAddress(request.tenant, fact.company, fact.aggregate_type, fact.aggregate_id)
        except SubjectError as exc:  # the contracts promise token-safe ids; say so if one is not
            raise protocol.internal_error(f"no ledger subject for this fact: {exc}") from None
        command = Command(
            tenant=request.tenant, company=fact.company, type=fact.type, effective_date=fact.effective_date,
            data=data, command_id=request.command_id or fact.idempotency_key or str(uuid.uuid4()),
            expected_sequence=request.expected_sequence, actor=request.actor,
            correlation_id=request.correlation_id, causation_id=request.causation_id,
            traceparent=current_traceparent() if traceparent is _CURRENT else traceparent,
        )
        return command, address, fact

    async def _execute(self, command: Command, address: AggregateAddress, fact: ValidFact,
                       deadline: float | None = None) -> dict[str, Any]:
        """Let the repository decide and append; map each outcome to its reply.

        Checked again here, after any wait for a worker or the aggregate's turn: past its deadline the
        requester has answered "not recorded", so the command is refused, not recorded late.
        """
        repository = self._repository
        if repository is None:
            raise protocol.unavailable(f"the {self.name} service is stopping")
        if deadline is not None and deadlines.passed(deadline):
            raise protocol.deadline_exceeded()
        cls = self.aggregates[fact.aggregate_type]
        try:
            # A duplicate (a retry, another instance, a lost ack) is answered by the kernel from the stored event.
            result = await repository.execute(command, address, cls, fact.schema_version)
        except Refused as refused:
            raise protocol.invariant_violated(refused) from None
        except Conflict as conflict:
            raise protocol.sequence_mismatch(conflict) from None
        except IdempotencyMismatch as exc:
            raise protocol.idempotency_key_reused(str(exc)) from None
        except (StoreUnavailable, Contended) as exc:
            raise protocol.unavailable(str(exc)) from None
        except IntegrityError as exc:
            log.error("broken history on %s: %s", address.subject, exc, extra={"service": self.name})
            raise protocol.internal_error("the aggregate's stored history is broken; run `ledger verify`") from None
        except APIError as exc:
            if exc.err_code == ERR_MESSAGE_TOO_LARGE:
                raise protocol.invalid_fact(FactRejected([FieldError(
                    "data", "too_large", "the fact is too large for one ledger event (at most about 1 MB)",
                    "事实过大，超出单条账本事件的上限（约 1 MB）")])) from None
            log.error("LEDGER refused an append to %s: %s", address.subject, exc, extra={"service": self.name})
            raise protocol.unavailable(f"the ledger refused the append ({exc.err_code})") from None
        return protocol.recorded(result)
