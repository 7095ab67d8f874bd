"""The wired system (`Muster`): what the web app, the CLI and the tests use, and how it
starts and stops following the event log. `app.bootstrap.build` makes it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from app.adapters import Adapters
from app.alerts.delivery import AlertDelivery
from app.alerts.engine import AlertEngine
from app.alerts.toasts import AlertToasts, Send
from app.application import Training
from app.audit.replay import AsOfViews
from app.domain.evidence_rules import EvidencePolicy
from app.domain.rules import WindowPolicy
from app.imports.service import Importer
from app.projections.runner import ProjectionRunner
from app.projections.subscriber import SubscriberRunner
from app.services.checkin import CheckInService
from app.services.erasure import PersonErasure
from app.services.faces import FaceService
from app.services.lifecycle import SessionClock
from app.services.metrics import MetricsService
from app.services.notice_delivery import NoticeDelivery
from app.services.photos import PhotoService
from app.services.rate_limits import RateLimits
from app.services.reminders import ReminderLadder
from app.services.report_delivery import ReportDelivery
from app.services.retention import PhotoRetention, RetentionSchedule
from app.services.roster_keeper import RosterKeeper
from app.services.session_notices import SessionNotices
from app.services.session_planner import SessionPlanner
from app.services.throttle import FailedLogins
from app.settings import Settings
from app.stores.base import ReadStore
from app.stores.commit import GroupCommitter
from app.streams.bus import EventBus
from app.streams.changes import ViewChanges


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
    #: the planner page's commands (check, save, cancel sessions)
    planner: SessionPlanner
    #: keeps the rosters of sessions not yet started current as people come and go
    rosters: RosterKeeper
    #: tells the people affected when a session is moved, called off or its roster changes
    notices: SessionNotices
    #: the same notices by mail and webhook (the alerts' channels)
    notice_delivery: NoticeDelivery
    alert_engine: AlertEngine
    alert_delivery: AlertDelivery
    #: the alerts' toasts on the bus, and the notices kept for `?since=`
    alert_toasts: AlertToasts
    #: saved reports with a schedule, sent through the alerts' channels
    report_delivery: ReportDelivery
    #: subject prefix of this deployment's alert notices (toasts)
    alert_subject: str
    adapters: Adapters
    #: publishes "a session's view changed" from the serving loop (`start`)
    changes: ViewChanges
    #: the photo-analysis process manager (``None`` where no analyser is wired)
    analysis: SubscriberRunner | None
    #: the anomaly rules, and the photo analysis where it is wired
    subscribers: list[SubscriberRunner]
    #: each plant's evidence policy: anomaly thresholds and the kiosk's photo schedule
    evidence: Callable[[str], EvidencePolicy]
    #: photo originals deleted after the retention period (`muster privacy purge-photos`)
    retention: PhotoRetention
    #: deletes each original when its retention period ends (`photo_purge_on_schedule`)
    retention_schedule: RetentionSchedule
    #: people erased by deleting their key (`muster privacy erase`)
    erasure: PersonErasure
    #: requests per address, device and login (429 with Retry-After over them)
    rate_limits: RateLimits
    extras: dict[str, object] = field(default_factory=dict)
    #: failed logins per login and per address (slowed, then refused for a while)
    failed_logins: FailedLogins = field(default_factory=FailedLogins)
    #: the auditor's recent as-of answers (a replay of a large log is slow)
    as_of_views: AsOfViews = field(default_factory=AsOfViews)

    @property
    def runners(self) -> list[ProjectionRunner]:
        """Every projection runner: the training log's and the metrics log's."""
        return [self.runner, self.metrics_runner]

    def start_alerts(self, send: Send | None) -> None:
        """Run the alert engine and delivery (where the projections run); toasts go out
        through `send`."""
        self.alert_toasts.send = send
        self.alert_engine.start()
        self.alert_delivery.start()
        self.alert_toasts.start()
        self.report_delivery.start()
        self.reminders.start()
        self.rosters.start()
        self.notices.start()
        self.notice_delivery.start()
        if self.settings.session_clock:
            self.session_clock.start()
        if self.settings.photo_purge_on_schedule:
            self.retention_schedule.start()

    def stop_alerts(self) -> None:
        self.retention_schedule.stop()
        self.session_clock.stop()
        self.rosters.stop()
        self.notices.stop()
        self.notice_delivery.stop()
        self.reminders.stop()
        self.alert_engine.stop()
        self.alert_delivery.stop()
        self.report_delivery.stop()
        self.alert_toasts.stop()
        self.alert_toasts.send = None

    def start(self, loop: asyncio.AbstractEventLoop, *, projections: bool) -> None:
        """Follow the event log from ``loop``'s process: with ``projections``, the
        projections (their view changes published on the bus) and the subscribers; the
        photo analysis wherever an analyser is wired."""
        self.changes.bind(loop)
        if projections:
            self.runner.start()
            self.metrics_runner.start()
            self.start_alerts(self.changes.send)
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
