"""The composition root: settings → stores → bus → applications → services.

Nothing else reads the environment. Both deployment shapes go through `build`; what the
settings say about stores, bus and keys is in `app.deployment`, the wired system (`Muster`)
in `app.muster`, the vision ports (`Adapters`) in `app.adapters`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import structlog

from app.adapters import Adapters, real_adapters
from app.alerts.delivery import AlertDelivery, MailChannel, WebhookChannel
from app.alerts.engine import AlertEngine
from app.alerts.follower import Clock
from app.alerts.retries import Retries
from app.alerts.toasts import AlertToasts
from app.application import Training
from app.deployment import (
    AUDITED_MAPPER,
    alert_subject,
    create_table,
    event_store_env,
    live_subject,
    make_bus,
    make_read_store,
    schema_lock,
    secret_key,
)
from app.domain.alerts import Thresholds
from app.domain.evidence_rules import EvidencePolicy
from app.domain.qr import qr_key
from app.domain.recount import RecountPolicy
from app.domain.rules import WindowPolicy
from app.imports.service import Importer
from app.muster import Muster
from app.projections import all_projections
from app.projections.access import Access
from app.projections.metrics import MetricsTable
from app.projections.runner import ProjectionRunner
from app.projections.subscriber import SubscriberRunner
from app.services.analysis import PhotoAnalysis
from app.services.anomaly_rules import AnomalyRules
from app.services.checkin import CheckInService
from app.services.erasure import PersonErasure
from app.services.faces import FaceService
from app.services.lifecycle import SessionClock
from app.services.metrics import Metrics, MetricsService
from app.services.notice_delivery import NoticeDelivery
from app.services.photo_files import PhotoFiles
from app.services.photos import PhotoService
from app.services.rate_limits import RateLimit, RateLimits
from app.services.reminders import ReminderLadder
from app.services.report_delivery import ReportDelivery
from app.services.retention import PhotoRetention, RetentionSchedule
from app.services.room_memory import RoomMemory
from app.services.roster_keeper import RosterKeeper
from app.services.session_notices import SessionNotices
from app.services.session_planner import SessionPlanner
from app.settings import Settings
from app.stores.base import ReadStore
from app.stores.commit import GroupCommitter
from app.stores.credentials import Credentials
from app.stores.face_templates import SqlTemplateStore, template_key
from app.stores.metric_events import metrics_store_env
from app.stores.person_keys import PersonKeys
from app.streams.changes import ViewChanges
from vision.headcount import EARLIER_PHOTOS, STATIC_GAP

__all__ = [
    "AUDITED_MAPPER",
    "Adapters",
    "Muster",
    "alert_subject",
    "build",
    "event_store_env",
    "evidence_policies",
    "live_subject",
    "make_bus",
    "make_read_store",
    "real_adapters",
    "secret_key",
    "window_policy",
]

log = structlog.get_logger(__name__)


def window_policy(settings: Settings) -> WindowPolicy:
    return WindowPolicy(
        opens_before=timedelta(minutes=settings.checkin_opens_before_minutes),
        late_after=timedelta(minutes=settings.checkin_late_after_minutes),
        clock_skew_tolerance=timedelta(minutes=settings.clock_skew_tolerance_minutes),
        queue_sync_grace=timedelta(seconds=settings.queue_sync_grace_seconds),
    )


def plant_day_of(settings: Settings) -> Callable[[datetime], date]:
    """The plant's calendar day of a moment (reminders and rosters count days in it)."""
    plant_tz = ZoneInfo(settings.plant_timezone)
    return lambda moment: moment.astimezone(plant_tz).date()


def evidence_policies(settings: Settings) -> Callable[[str], EvidencePolicy]:
    """The evidence rules' thresholds for each plant: the settings', or the plant's own."""

    def policy(values: Mapping[str, float | str]) -> EvidencePolicy:
        return EvidencePolicy(
            photo_time_tolerance=timedelta(minutes=float(values["photo_time_tolerance_minutes"])),
            headcount_margin=int(values["headcount_margin"]),
            headcount_share=float(values["headcount_share"]),
            timezone=str(values["plant_timezone"]),
            checkin_opens_before=timedelta(minutes=settings.checkin_opens_before_minutes),
            photo_every_minutes=int(values["kiosk_photo_every_minutes"]),
            photo_every_checkins=int(values["kiosk_photo_every_checkins"]),
        )

    knobs = (
        "photo_time_tolerance_minutes",
        "headcount_margin",
        "headcount_share",
        "kiosk_photo_every_minutes",
        "kiosk_photo_every_checkins",
    )
    defaults = {k: getattr(settings, k) for k in (*knobs, "plant_timezone")}
    default = policy(defaults)
    plants = {p: policy({**defaults, **own}) for p, own in settings.evidence_by_plant.items()}
    return lambda plant: plants.get(plant, default)


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
    with schema_lock(settings):  # tables are created on first start, by one process at a time
        store = make_read_store(settings)
        credentials = Credentials(store)
        people = PersonKeys(store, secret)
        present = store.existing(["training_events", "metrics_events"])
        training_env = {**event_store_env(settings), **create_table(present, "training_events")}
        app = Training(env=training_env, credentials=credentials, people=people)
        # stores from before keep working: the hashes old events carried move to credentials
        credentials.upgrade(app.recorder, Access.owned_tables)
        runner = ProjectionRunner(app, store, all_projections(), on_change=changes, poll_s=poll_s)
        committer = GroupCommitter(
            app,
            window_s=settings.commit_window_ms / 1000,
            max_batch=settings.commit_max_batch,
            max_queued=settings.commit_max_queued,
            timeout_s=settings.write_timeout_s,
            on_commit=_wake_runners(runner, store),
            on_stall=store.cancel_stuck_write,
        )
        # during a burst, rounds of a tenth of a second's commits instead of one per commit
        runner.yield_to(committer.busy, 0.1)
        evidence = evidence_policies(settings)
        rules = AnomalyRules(app, store, evidence)
        subscribers = [
            SubscriberRunner(app, store, rules, poll_s=poll_s, busy=committer.busy, defer_s=1.0)
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
                **create_table(present, "metrics_events"),
            }
        )
        metrics_runner = ProjectionRunner(
            metrics_app,
            store,
            [MetricsTable()],
            poll_s=settings.projection_poll_ms / 1000,
            batch_size=5000,
        )
        templates = SqlTemplateStore(template_key(secret), store)
        policy = window_policy(settings)
        engine, delivery, toasts, report_delivery = _alerts(
            settings, app, store, policy, _wake_runners(runner, store), clock, committer.busy
        )
    metrics = MetricsService(metrics_app, store, metrics_runner)
    faces = FaceService(app, store, templates, adapters.faces, files.read)
    checkins = CheckInService(app, store, committer, policy, faces, qr_key(secret))
    with schema_lock(settings):
        plant_day = plant_day_of(settings)
        reminders = ReminderLadder(app, store, committer, clock=clock, day_of=plant_day)
        session_clock = SessionClock(app, store, committer, clock=clock)
        rosters = RosterKeeper(app, store, committer, clock=clock, day_of=plant_day)
        retention = PhotoRetention(app, store, files, settings.photo_retention_days)
        retention_schedule = RetentionSchedule(retention, clock=clock)
        notices = SessionNotices(app, store, clock=clock, poll_s=poll_s)
        notice_delivery = _notice_delivery(settings, app, store, delivery, clock)
    runner.followers.extend(
        [
            engine,
            delivery,
            toasts,
            report_delivery,
            reminders,
            session_clock,
            rosters,
            notices,
            notice_delivery,
            retention_schedule,
            *subscribers,
        ]
    )
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
        planner=SessionPlanner(app, store, committer, runner, team_share=settings.team_away_share),
        rosters=rosters,
        notices=notices,
        notice_delivery=notice_delivery,
        alert_engine=engine,
        alert_delivery=delivery,
        alert_toasts=toasts,
        report_delivery=report_delivery,
        alert_subject=alert_subject(settings),
        adapters=adapters,
        changes=changes,
        analysis=analysis,
        evidence=evidence,
        subscribers=subscribers,
        retention=retention,
        retention_schedule=retention_schedule,
        erasure=PersonErasure(app, store, people, faces),
        rate_limits=RateLimits.of(
            RateLimit(settings.rate_address_per_s, settings.rate_address_burst),
            RateLimit(settings.rate_device_per_s, settings.rate_device_burst),
            RateLimit(settings.rate_login_per_s, settings.rate_login_burst),
        ),
    )


def _alerts(
    settings: Settings,
    app: Training,
    store: ReadStore,
    policy: WindowPolicy,
    wake: Callable[[], None],
    clock: Clock,
    busy: Callable[[], bool],
) -> tuple[AlertEngine, AlertDelivery, AlertToasts, ReportDelivery]:
    """The alert engine, the alert delivery and toasts, and the scheduled reports' delivery
    through the same channels."""
    from app.web.alert_text import describe  # the words live with the other words
    from app.web.report_text import render_report

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
        busy=busy,
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
        retries=Retries(settings.alert_delivery_attempts, settings.alert_retry_base_s),
        on_commit=wake,
        clock=clock,
    )
    toasts = AlertToasts(app, store, describe=describe, lang=settings.default_lang, clock=clock)
    toasts.subject = alert_subject(settings)
    reports = ReportDelivery(
        app,
        store,
        channels=delivery.channels,
        render=render_report,
        tz=ZoneInfo(settings.plant_timezone),
        lang=settings.default_lang,
        on_commit=wake,
        clock=clock,
    )
    return engine, delivery, toasts, reports


def _notice_delivery(
    settings: Settings, app: Training, store: ReadStore, alerts: AlertDelivery, clock: Clock
) -> NoticeDelivery:
    """Session notices by mail and webhook, through the alerts' channels."""
    from app.web.notices_api import notice_words  # the words live with the other words

    return NoticeDelivery(
        app,
        store,
        channels=alerts.channels,
        words=notice_words(ZoneInfo(settings.plant_timezone)),
        lang=settings.default_lang,
        retries=alerts.retries,
        clock=clock,
    )


def _wake_runners(runner: ProjectionRunner, store: ReadStore) -> Callable[[], None]:
    """After each commit: wake this process's runner now, and other processes' runners
    through the store (PostgreSQL NOTIFY); they would otherwise find it on their next poll."""

    def wake() -> None:
        runner.wake()
        store.notify_committed()

    return wake
