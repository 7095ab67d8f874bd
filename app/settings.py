"""The one settings class: environment `MUSTER_*`, optionally `muster.toml`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class Settings(BaseSettings):
    """Everything an operator can configure. Only `app.bootstrap` reads it."""

    model_config = SettingsConfigDict(env_prefix="MUSTER_", toml_file="muster.toml", extra="ignore")

    #: `sqlite:///var/muster.db` (embedded, default) or `postgresql://user@host:5432/db`.
    store: str = "sqlite:///var/muster.db"
    #: PostgreSQL schema for events and read models (lets tests and tenants share a database).
    store_schema: str = "public"
    #: `memory://` (in-process, default) or `nats://host:4222`.
    bus: str = "memory://"
    #: Subject namespace on a shared NATS server; by default derived from the store, so two
    #: deployments (or test runs) on one NATS never see each other's messages.
    bus_namespace: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    #: Signs login tokens and cookies. Empty: a random key is kept in `var/secret.key`.
    secret_key: str = ""
    var_dir: Path = Path("var")
    default_lang: Literal["zh-CN", "en"] = "zh-CN"
    #: Allowed websocket origins besides the server's own host.
    allowed_origins: list[str] = Field(default_factory=list)

    checkin_opens_before_minutes: int = 15
    checkin_late_after_minutes: int = 10
    clock_skew_tolerance_minutes: int = 2
    #: an offline queue item stamped before its device was heard live, and sent more than
    #: this long after that, is not believed (decision 0128)
    queue_sync_grace_seconds: int = 900
    dept_alert_rate: float = 0.8
    #: planning: at most this share of one team may be away in training at once
    team_away_share: float = 0.5
    #: compliance: a pass running out within this many days is "due soon"
    compliance_due_soon_days: int = 30
    #: the plants' clock: the times pages show, and days (due dates, reminders, the sessions
    #: list, effect analysis) begin at its midnight
    plant_timezone: str = "Asia/Shanghai"
    #: open and close sessions by their schedule (and mark absentees at the close)
    session_clock: bool = True
    #: alerts: minutes after the start without a check-in, minutes a room's tablet may stay
    #: quiet during a session, open anomalies in one session that make a burst
    alert_no_checkins_minutes: float = 5
    alert_device_silent_minutes: float = 5
    alert_anomaly_burst: int = 5
    #: alert delivery: attempts per notice and the first retry's delay (doubling after)
    alert_delivery_attempts: int = 5
    alert_retry_base_s: float = 2.0
    #: mail for `mailto:` alert destinations
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_from: str = "muster@localhost"
    token_ttl_hours: int = 12
    #: roles that must enrol in two-factor login before they can use the app
    two_factor_roles: list[str] = Field(
        default_factory=lambda: ["hr", "plant_manager", "auditor", "admin"]
    )
    #: HTTPS: PEM certificate and key; with both set, `muster serve` serves HTTPS only
    tls_cert: Path | None = None
    tls_key: Path | None = None
    #: how long the audit trail keeps what it needs to replay any instant (at least 90 days)
    audit_retention_days: int = Field(default=365, ge=90)
    #: photo originals are deleted this many days after their last upload (`muster privacy
    #: purge-photos`); hashes, EXIF facts and analysis stay as evidence
    photo_retention_days: int = Field(default=180, ge=1)
    #: delete originals as their retention period ends, in the process running projections
    photo_purge_on_schedule: bool = True
    #: request limits, a token bucket each (requests a second, and at once; 0: none): per
    #: address, per device token and per login token. Over one, a request is answered 429 with
    #: Retry-After. The host's own loopback address (a reverse proxy on it passes the real
    #: address on) is limited only with `rate_limit_loopback`.
    rate_address_per_s: float = 200.0
    rate_address_burst: int = 2000
    rate_device_per_s: float = 200.0
    rate_device_burst: int = 2000
    rate_login_per_s: float = 200.0
    rate_login_burst: int = 2000
    rate_limit_loopback: bool = False

    #: Group commit: gather appends for up to this many milliseconds into one transaction.
    commit_window_ms: float = 2.0
    commit_max_batch: int = 500
    #: longest a write transaction may take (PostgreSQL statement timeout, group watchdog)
    write_timeout_s: float = 5.0
    #: check-ins waiting to be stored before new ones are turned away with 429 + Retry-After
    commit_max_queued: int = 4_000
    #: Projections poll the store this often when nothing in-process woke them.
    projection_poll_ms: int = 200
    #: Run projections inside the web process (embedded). Scale-out runs them in `muster worker`.
    run_projections: bool = True
    #: Face check-in: a selfie's face must be this sharp (variance of the Laplacian on the
    #: aligned face) and this wide in pixels; lower them only for poor tablet cameras.
    face_min_sharpness: float = 40.0
    face_min_face_px: int = 80
    #: Face check-in liveness (0–1, how live the selfie's face looks): below `face_spoof_below`
    #: the check-in is flagged `selfie_spoof_suspected`; below `face_spoof_refuse_below` it is
    #: refused and the person asked for their badge (unset: never refused). 0 turns flags off.
    face_spoof_below: float = 0.5
    face_spoof_refuse_below: float | None = None
    #: Kiosks take a room photo at a session's first check-in, then every this many minutes
    #: or this many check-ins, whichever comes first.
    kiosk_photo_every_minutes: int = 10
    kiosk_photo_every_checkins: int = 15
    #: Vision worker processes for room-photo analysis (0: store photos, analyse none).
    vision_processes: int = 1
    #: Evidence rules (anomalies): how far the time a photo was taken may lie from its upload
    #: and from the session; a count is clearly short when its range is below the check-ins by
    #: at least `headcount_margin` people and `headcount_share` of them; cameras that record
    #: no time zone write `plant_timezone`.
    photo_time_tolerance_minutes: float = 10.0
    headcount_margin: int = 2
    headcount_share: float = 0.1
    #: These and the kiosk's photo schedule (`kiosk_photo_every_minutes`,
    #: `kiosk_photo_every_checkins`) for a plant of its own, e.g.
    #: `{"SZ2": {"headcount_margin": 3, "kiosk_photo_every_minutes": 5}}`.
    evidence_by_plant: dict[str, dict[str, float | str]] = Field(default_factory=dict)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @property
    def store_kind(self) -> Literal["sqlite", "postgres"]:
        if self.store.startswith(("postgresql://", "postgres://")):
            return "postgres"
        if self.store.startswith("sqlite:///"):
            return "sqlite"
        raise ValueError(
            f"MUSTER_STORE must be sqlite:///PATH or postgresql://…, not {self.store!r}"
        )

    @property
    def sqlite_path(self) -> Path:
        return Path(self.store.removeprefix("sqlite:///"))

    @property
    def plant_tz(self) -> ZoneInfo:
        """The plant's clock (`plant_timezone`): what pages show times in, where days begin."""
        return ZoneInfo(self.plant_timezone)
