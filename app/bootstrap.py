"""The composition root: settings → stores → bus → applications → services.

Nothing else reads the environment. Both deployment shapes go through `build`.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

import structlog

from app.alerts.delivery import AlertDelivery, MailChannel, Publish, WebhookChannel
from app.alerts.engine import AlertEngine
from app.alerts.follower import Clock, system_clock
from app.application import Training
from app.domain.alerts import Thresholds
from app.domain.evidence_rules import EvidencePolicy
from app.domain.qr import qr_key
from app.domain.recount import RecountPolicy
from app.domain.rules import WindowPolicy
from app.imports.service import Importer
from app.projections import all_projections
from app.projections.access import Access
from app.projections.metrics import MetricsTable
from app.projections.runner import ProjectionRunner
from app.projections.subscriber import SubscriberRunner
from app.services.analysis import PhotoAnalysis
from app.services.anomaly_rules import AnomalyRules
from app.services.checkin import CheckInService
from app.services.faces import FaceService
from app.services.lifecycle import SessionClock
from app.services.metrics import Metrics, MetricsService
from app.services.photo_files import PhotoFiles
from app.services.photos import PhotoService
from app.services.reminders import ReminderLadder
from app.services.room_memory import RoomMemory
from app.services.throttle import FailedLogins
from app.services.vision_adapters import PooledRoomAnalyser, RoomAnalyser, VisionPool
from app.settings import Settings
from app.stores.base import ReadStore
from app.stores.commit import GroupCommitter
from app.stores.credentials import Credentials
from app.stores.face_templates import SqlTemplateStore, template_key
from app.stores.metric_events import metrics_store_env
from app.streams.bus import EventBus
from app.streams.changes import ViewChanges, bus_publisher
from vision.headcount import EARLIER_PHOTOS, STATIC_GAP
from vision.identity.engine import SelfieMatcher

log = structlog.get_logger(__name__)
#: events record the acting role and device or address (app.audit.context)
AUDITED_MAPPER = "app.audit.context:AuditedMapper"


def event_store_env(settings: Settings) -> dict[str, str]:
    """The eventsourcing environment mapping, built in this one place."""
    if settings.store_kind == "sqlite":
        path = settings.sqlite_path
        path.parent.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(path),
            "SQLITE_LOCK_TIMEOUT": "10",
            "MAPPER_TOPIC": AUDITED_MAPPER,
        }
    url = urlsplit(settings.store)
    return {
        # bounded writes: statement, lock and idle-in-transaction timeouts (FINDINGS.md)
        "PERSISTENCE_MODULE": "app.stores.pg_events:Factory",
        "MUSTER_STATEMENT_TIMEOUT": str(settings.write_timeout_s),
        "POSTGRES_LOCK_TIMEOUT": str(max(1, int(settings.write_timeout_s / 2))),
        "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": str(int(settings.write_timeout_s * 2)),
        "POSTGRES_DBNAME": url.path.lstrip("/") or "postgres",
        "POSTGRES_HOST": url.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(url.port or 5432),
        "POSTGRES_USER": unquote(url.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(url.password or ""),
        "POSTGRES_SCHEMA": settings.store_schema,
        # appends go through the one group-commit thread; the rest are aggregate reads
        "POSTGRES_POOL_SIZE": "4",
        "POSTGRES_MAX_OVERFLOW": "4",
        "MAPPER_TOPIC": AUDITED_MAPPER,
    }


def make_read_store(settings: Settings) -> ReadStore:
    if settings.store_kind == "sqlite":
        from app.stores.sqlite import SQLiteReadStore

        return SQLiteReadStore(settings.sqlite_path)
    from app.stores.postgres import PostgresReadStore

    return PostgresReadStore(settings.store, settings.store_schema)


def make_bus(settings: Settings) -> EventBus:
    if settings.bus.startswith("memory://"):
        from app.streams.memory import MemoryBus

        return MemoryBus()
    if settings.bus.startswith(("nats://", "tls://")):
        from app.streams.nats import NatsBus

        return NatsBus(settings.bus)
    raise ValueError(f"MUSTER_BUS must be memory:// or nats://host:port, not {settings.bus!r}")


def secret_key(settings: Settings) -> bytes:
    """The signing key: configured, or generated once and kept under `var/`."""
    if settings.secret_key:
        return settings.secret_key.encode()
    path: Path = settings.var_dir / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip().encode()


def live_subject(settings: Settings) -> str:
    """`muster.<namespace>.live.session`: the namespace keeps deployments apart on one NATS."""
    namespace = (
        settings.bus_namespace
        or hashlib.sha256(f"{settings.store}|{settings.store_schema}".encode()).hexdigest()[:12]
    )
    return f"muster.{namespace}.live.session"


def alert_subject(settings: Settings) -> str:
    """`muster.<namespace>.live.alert`: alert notices for the hubs (toasts)."""
    return live_subject(settings).removesuffix(".session") + ".alert"


def window_policy(settings: Settings) -> WindowPolicy:
    return WindowPolicy(
        opens_before=timedelta(minutes=settings.checkin_opens_before_minutes),
        late_after=timedelta(minutes=settings.checkin_late_after_minutes),
        clock_skew_tolerance=timedelta(minutes=settings.clock_skew_tolerance_minutes),
    )


@dataclass(frozen=True)
class Adapters:
    """What the app reaches outside itself besides its stores: the vision ports and the
    clock. Real ones by default (`real_adapters`); tests pass fakes (``vision.fake``)."""

    #: room photos are analysed where this is set (``None``: stored, analysed elsewhere)
    analyser: RoomAnalyser | None
    #: the face engine, loaded when the first selfie arrives
    faces: Callable[[], SelfieMatcher]
    clock: Clock = system_clock


def real_adapters(settings: Settings) -> Adapters:
    """The dlib/OpenCV models: room photos in `settings.vision_processes` processes
    (started on the first photo; with none, this process analyses no room photo), selfies
    in this process."""
    analyser = None
    if settings.vision_processes > 0:
        analyser = PooledRoomAnalyser(VisionPool(settings.vision_processes))
    return Adapters(analyser=analyser, faces=_face_engine(settings))


def evidence_policies(settings: Settings) -> Callable[[str], EvidencePolicy]:
    """The evidence rules' thresholds for each plant: the settings', or the plant's own."""

    def policy(values: Mapping[str, float | str]) -> EvidencePolicy:
        return EvidencePolicy(
            photo_time_tolerance=timedelta(minutes=float(values["photo_time_tolerance_minutes"])),
            headcount_margin=int(values["headcount_margin"]),
            headcount_share=float(values["headcount_share"]),
            timezone=str(values["plant_timezone"]),
        )

    knobs = ("photo_time_tolerance_minutes", "headcount_margin", "headcount_share")
    defaults = {k: getattr(settings, k) for k in (*knobs, "plant_timezone")}
    default = policy(defaults)
    plants = {p: policy({**defaults, **own}) for p, own in settings.evidence_by_plant.items()}
    return lambda plant: plants.get(plant, default)


@dataclass
class Muster:
    """Everything wired: what the web app, the CLI and the tests use."""

    settings: Settings
    app: Training
    store: ReadStore
    committer: GroupCommitter
    runner: ProjectionRunner
    checkins: CheckInService
    bus: EventBus
    secret: bytes
    policy: WindowPolicy
    #: subject prefix of this deployment's "session view changed" messages
    live_subject: str
    photos: PhotoService
    #: production metrics: their own event log, read model and projection runner
    metrics: MetricsService
    metrics_runner: ProjectionRunner
    faces: FaceService
    imports: Importer
    reminders: ReminderLadder
    session_clock: SessionClock
    alert_engine: AlertEngine
    alert_delivery: AlertDelivery
    #: subject prefix of this deployment's alert notices (toasts)
    alert_subject: str
    adapters: Adapters
    #: publishes "a session's view changed" from the serving loop (`start`)
    changes: ViewChanges
    #: the photo-analysis process manager (``None`` where no analyser is wired)
    analysis: SubscriberRunner | None
    #: the anomaly rules, and the photo analysis where it is wired
    subscribers: list[SubscriberRunner]
    extras: dict[str, object] = field(default_factory=dict)
    #: failed logins per login and per address (slowed, then refused for a while)
    failed_logins: FailedLogins = field(default_factory=FailedLogins)

    @property
    def runners(self) -> list[ProjectionRunner]:
        """Every projection runner: the training log's and the metrics log's."""
        return [self.runner, self.metrics_runner]

    def start_alerts(self, publish: Publish | None) -> None:
        """Run the alert engine and delivery (where the projections run); toasts go out
        through `publish`."""
        self.alert_delivery.publish = publish
        self.alert_engine.start()
        self.alert_delivery.start()
        self.reminders.start()
        if self.settings.session_clock:
            self.session_clock.start()

    def stop_alerts(self) -> None:
        self.session_clock.stop()
        self.reminders.stop()
        self.alert_engine.stop()
        self.alert_delivery.stop()
        self.alert_delivery.publish = None

    def start(self, loop: asyncio.AbstractEventLoop, *, projections: bool) -> None:
        """Follow the event log from ``loop``'s process: with ``projections``, the
        projections (their view changes published on the bus) and the subscribers; the
        photo analysis wherever an analyser is wired."""
        self.changes.bind(loop)
        if projections:
            self.runner.start()
            self.metrics_runner.start()
            self.start_alerts(bus_publisher(self.bus, loop))
        for subscriber in self.subscribers:
            if projections or subscriber is self.analysis:
                subscriber.start()

    def stop(self) -> None:
        """Stop following the log (`start`); work in flight resumes from the checkpoints."""
        for subscriber in self.subscribers:
            subscriber.stop()
        self.stop_alerts()
        self.runner.stop()
        self.metrics_runner.stop()
        self.changes.bind(None)

    def close(self) -> None:
        self.stop_alerts()
        for subscriber in self.subscribers:
            subscriber.close()
        self.runner.stop()
        self.metrics_runner.stop()
        self.metrics.app.close()
        self.committer.close()
        self.store.close()
        self.app.close()


def build(
    settings: Settings | None = None,
    adapters: Adapters | None = None,
    clock: Clock | None = None,
) -> Muster:
    """Wire the system for `settings` (read from the environment when not given) with
    `adapters` (the real ones when not given); `clock`, when given, replaces theirs (the
    alert engine and delivery take the time from it)."""
    settings = settings or Settings()
    adapters = adapters or real_adapters(settings)
    if clock is not None:
        adapters = replace(adapters, clock=clock)
    clock = adapters.clock
    secret = secret_key(settings)
    bus = make_bus(settings)
    subject = live_subject(settings)
    changes = ViewChanges(bus, subject)
    files = PhotoFiles(settings.var_dir / "photos")
    poll_s = settings.projection_poll_ms / 1000
    with _schema_lock(settings):  # tables are created on first start, by one process at a time
        store = make_read_store(settings)
        credentials = Credentials(store)
        present = store.existing(["training_events", "metrics_events"])
        training_env = {**event_store_env(settings), **_create_table(present, "training_events")}
        app = Training(env=training_env, credentials=credentials)
        # stores from before keep working: the hashes old events carried move to credentials
        credentials.upgrade(app.recorder, Access.owned_tables)
        runner = ProjectionRunner(app, store, all_projections(), on_change=changes, poll_s=poll_s)
        subscribers = [
            SubscriberRunner(
                app, store, AnomalyRules(app, store, evidence_policies(settings)), poll_s=poll_s
            )
        ]
        analysis = None
        if adapters.analyser is not None:
            memory = RoomMemory(store, files, RecountPolicy(STATIC_GAP, EARLIER_PHOTOS))
            process = PhotoAnalysis(
                app, adapters.analyser, memory, concurrency=2 * max(1, settings.vision_processes)
            )
            analysis = SubscriberRunner(app, store, process, poll_s=poll_s)
            subscribers.append(analysis)
        metrics_app = Metrics(
            env={
                **metrics_store_env(event_store_env(settings)),
                **_create_table(present, "metrics_events"),
            }
        )
        metrics_runner = ProjectionRunner(
            metrics_app,
            store,
            [MetricsTable()],
            poll_s=settings.projection_poll_ms / 1000,
            batch_size=2000,
        )
        templates = SqlTemplateStore(template_key(secret), store)
        policy = window_policy(settings)
        engine, delivery = _alerts(
            settings, app, store, policy, _wake_runners(runner, store), clock
        )
    committer = GroupCommitter(
        app,
        window_s=settings.commit_window_ms / 1000,
        max_batch=settings.commit_max_batch,
        max_queued=settings.commit_max_queued,
        timeout_s=settings.write_timeout_s,
        on_commit=_wake_runners(runner, store),
        on_stall=store.cancel_stuck_write,
    )
    metrics = MetricsService(metrics_app, store, metrics_runner)
    faces = FaceService(app, store, templates, adapters.faces, files.read)
    checkins = CheckInService(app, store, committer, policy, faces, qr_key(secret))
    with _schema_lock(settings):
        plant_tz = ZoneInfo(settings.plant_timezone)
        reminders = ReminderLadder(
            app,
            store,
            committer,
            clock=clock,
            today_of=lambda moment: moment.astimezone(plant_tz).date(),
        )
        session_clock = SessionClock(app, store, committer, clock=clock)
    followers = [
        engine.wake,
        delivery.wake,
        reminders.wake,
        session_clock.wake,
        *(s.wake for s in subscribers),
    ]
    runner.followers.extend(followers)
    log.info("muster wired", store=settings.store_kind, bus=settings.bus)
    return Muster(
        settings=settings,
        app=app,
        store=store,
        committer=committer,
        runner=runner,
        checkins=checkins,
        bus=bus,
        secret=secret,
        policy=policy,
        live_subject=subject,
        photos=PhotoService(app, checkins, files),
        faces=faces,
        imports=Importer(
            app, store, committer, runner, policy, settings.team_away_share, metrics=metrics
        ),
        metrics=metrics,
        metrics_runner=metrics_runner,
        reminders=reminders,
        session_clock=session_clock,
        alert_engine=engine,
        alert_delivery=delivery,
        alert_subject=alert_subject(settings),
        adapters=adapters,
        changes=changes,
        analysis=analysis,
        subscribers=subscribers,
    )


def _alerts(
    settings: Settings,
    app: Training,
    store: ReadStore,
    policy: WindowPolicy,
    wake: Callable[[], None],
    clock: Clock,
) -> tuple[AlertEngine, AlertDelivery]:
    from app.web.alert_text import describe  # the words live with the other words

    thresholds = Thresholds(
        dept_rate=settings.dept_alert_rate,
        no_checkins_after=timedelta(minutes=settings.alert_no_checkins_minutes),
        device_silent_after=timedelta(minutes=settings.alert_device_silent_minutes),
        anomaly_burst=settings.alert_anomaly_burst,
    )
    engine = AlertEngine(
        app,
        store,
        late_after=policy.late_after,
        thresholds=thresholds,
        on_commit=wake,
        clock=clock,
    )
    delivery = AlertDelivery(
        app,
        store,
        channels={
            "webhook": WebhookChannel(clock),
            "mail": MailChannel(settings.smtp_host, settings.smtp_port, settings.smtp_from),
        },
        describe=describe,
        lang=settings.default_lang,
        attempts=settings.alert_delivery_attempts,
        retry_base_s=settings.alert_retry_base_s,
        on_commit=wake,
        clock=clock,
    )
    delivery.toast_subject = alert_subject(settings)
    return engine, delivery


def _face_engine(settings: Settings) -> Callable[[], SelfieMatcher]:
    """The dlib face engine with the configured selfie rules (its models load when the first
    selfie arrives)."""

    def load() -> SelfieMatcher:
        from vision.identity.engine import DlibFaceEngine, SelfieRules

        rules = SelfieRules(
            min_sharpness=settings.face_min_sharpness, min_face=settings.face_min_face_px
        )
        return DlibFaceEngine(rules=rules)

    return load


def _wake_runners(runner: ProjectionRunner, store: ReadStore) -> Callable[[], None]:
    """After each commit: wake this process's runner now, and other processes' runners
    through the store (PostgreSQL NOTIFY); they would otherwise find it on their next poll."""

    def wake() -> None:
        runner.wake()
        store.notify_committed()

    return wake


def _create_table(present: set[str], events_table: str) -> dict[str, str]:
    """Tell eventsourcing not to run its DDL when its table exists: `CREATE UNIQUE INDEX IF
    NOT EXISTS` on the events table waits behind any write holding the table's lock, and a
    starting process must not queue behind live traffic."""
    return {"CREATE_TABLE": "n"} if events_table in present else {}


@contextmanager
def _schema_lock(settings: Settings) -> Iterator[None]:
    """On PostgreSQL: make sure the schema exists and hold an advisory lock while the caller
    creates tables. Web processes and the worker start together; concurrent `CREATE TABLE IF
    NOT EXISTS` of the same table fails in PostgreSQL ("duplicate key … pg_type")."""
    if settings.store_kind != "postgres":
        yield
        return
    import psycopg
    from psycopg import sql

    key = f"muster-schema:{settings.store_schema}"
    with psycopg.connect(settings.store, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", [key])
        try:
            conn.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                    sql.Identifier(settings.store_schema)
                )
            )
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", [key])
