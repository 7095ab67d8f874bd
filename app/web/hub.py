"""The websocket hub: projections say which sessions changed; the hub re-renders the
affected plant wallboards and session pages once per tick and pushes them to clients.

Changes travel over the event bus (`muster.live.session.<id>`), so the same hub works when
projections run in this process (embedded) or in `muster worker` processes (scale-out).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from litestar import WebSocket

from app.bootstrap import Muster
from app.projections import queries
from app.projections.visibility import Viewer
from app.streams.bus import Subscription
from app.web.alert_text import describe
from app.web.live_anomalies import AnomalyFeed
from app.web.pages import photo_context
from app.web.render import render

log = structlog.get_logger(__name__)


#: messages waiting per connection: a client this far behind is dropped (it reconnects with
#: `?since=` and gets a fresh snapshot and the alerts it missed)
QUEUE = 16
#: a send that takes longer than this drops the client
SEND_TIMEOUT_S = 5.0
#: alert notices kept for clients that reconnect with `?since=`
RECENT_ALERTS = 1000


@dataclass(eq=False)
class Client:
    """One connected websocket: its scope ('plant:P1', 'session:<id>'), format and language,
    and the plants its user may see (looked up once, when it connects: every push of a session
    page is redacted by them)."""

    socket: WebSocket[Any, Any, Any]
    scope: str
    fmt: str
    lang: str
    visible: frozenset[str]
    #: narrows what it is shown to the people and departments its user (or `dept:`) covers
    viewer: Viewer | None = None
    #: the plant of a `dept:` scope
    plant: str | None = None
    login: str = ""
    #: the last version the client saw before it reconnected (`?since=`): alerts after it
    #: are sent again
    since: int | None = None
    #: a photo page's session, the one it compares the photo with
    session: str | None = None
    sent_version: int = -1
    queue: asyncio.Queue[str] = field(default_factory=lambda: asyncio.Queue(maxsize=QUEUE))
    dropped: bool = False


class LiveHub:
    """Fans out view changes to websocket clients. A change is pushed at once; what changes
    in the next tick waits for it, so a burst costs one push per tick, not one per event."""

    def __init__(self, muster: Muster, tick_s: float = 0.1, refresh_s: float = 15.0) -> None:
        self.muster = muster
        self.tick_s = tick_s
        self.refresh_s = refresh_s
        self.clients: dict[str, set[Client]] = defaultdict(set)
        self._dirty_sessions: set[str] = set()
        self._changed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._subscription: Subscription | None = None
        self._alerts: Subscription | None = None
        self.recent_alerts: deque[dict[str, Any]] = deque(maxlen=RECENT_ALERTS)
        self.dropped = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self.pushes = 0
        self.anomalies = AnomalyFeed(muster.store)

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self.anomalies.changed(())  # anomaly messages start with what comes next
        self._subscription = await self.muster.bus.subscribe(self.muster.live_subject + ".*")
        self._alerts = await self.muster.bus.subscribe(self.muster.alert_subject + ".*")
        self._tasks = [
            asyncio.create_task(self._consume(self._subscription)),
            asyncio.create_task(self._consume_alerts(self._alerts)),
            asyncio.create_task(self._flush_forever()),
        ]

    async def stop(self) -> None:
        for subscription in (self._subscription, self._alerts):
            if subscription is not None:
                await subscription.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _consume(self, subscription: Subscription) -> None:
        async for message in subscription:
            try:
                self._dirty_sessions.add(json.loads(message.data)["session_id"])
                self._changed.set()
            except (ValueError, KeyError):
                log.warning("ignored malformed live message", subject=message.subject)

    async def _consume_alerts(self, subscription: Subscription) -> None:
        async for message in subscription:
            try:
                self.push_alert(json.loads(message.data))
            except (ValueError, KeyError, TypeError):
                log.warning("ignored malformed alert message", subject=message.subject)

    def push_alert(self, note: dict[str, Any]) -> None:
        """An alert notice: a toast on every inbox socket of its recipients; the JSON message
        to JSON clients it is addressed to or whose plant or session it is about."""
        self.recent_alerts.append(note)
        toasts: dict[str, str] = {}
        for clients in list(self.clients.values()):
            for client in list(clients):
                text = self._alert_text(client, note, toasts)
                if text is not None:
                    self._offer(client, text)
                    self.pushes += 1

    @staticmethod
    def _alert_text(client: Client, note: dict[str, Any], toasts: dict[str, str]) -> str | None:
        """What `client` is sent of an alert notice, if anything (`toasts`: rendered ones)."""
        alert = note["alert"]
        mine = client.login in alert["recipients"]
        if client.scope == "inbox" and mine and client.fmt != "json":
            if note["notice"] != "raised":
                return None
            if client.lang not in toasts:
                title, detail = describe(alert, client.lang)
                toasts[client.lang] = render(
                    "_alert_toast.html", client.lang, title=title, detail=detail
                )
            return toasts[client.lang]
        subject = alert["subject"]
        about = {
            f"plant:{alert.get('plant')}",
            f"session:{subject.get('session_id')}",
            f"dept:{subject.get('org_code')}",
        }
        if client.fmt == "json" and (mine or client.scope in about):
            return json.dumps(note, ensure_ascii=False)
        return None

    def _replay(self, client: Client) -> None:
        """The alert notices after `client.since` (a reconnecting client's last version)."""
        if client.since is None:
            return
        toasts: dict[str, str] = {}
        for note in list(self.recent_alerts):
            if int(note.get("version", 0)) > client.since:
                text = self._alert_text(client, note, toasts)
                if text is not None:
                    self._offer(client, text)

    # -- clients -----------------------------------------------------------------------------

    async def serve(self, client: Client) -> None:
        """Register `client`, send its snapshot, then push until it disconnects."""
        self.clients[client.scope].add(client)
        writer = asyncio.create_task(self._write(client))
        try:
            await self._push_scope(client.scope, only=client)
            self._replay(client)
            while True:
                await client.socket.receive_data(mode="text")  # pings and closes
        except Exception:  # disconnects surface as various exceptions: all end this client
            pass
        finally:
            self.clients[client.scope].discard(client)
            if not self.clients[client.scope]:
                del self.clients[client.scope]
            writer.cancel()

    async def _write(self, client: Client) -> None:
        while not client.dropped:
            text = await client.queue.get()
            try:
                await asyncio.wait_for(client.socket.send_text(text), SEND_TIMEOUT_S)
            except TimeoutError:
                self._drop(client)

    def _offer(self, client: Client, text: str) -> None:
        """Queue a message; a client whose queue is full is dropped, so one slow screen never
        holds up the others or grows the server's memory."""
        if client.dropped:
            return
        try:
            client.queue.put_nowait(text)
        except asyncio.QueueFull:
            self._drop(client)

    def _drop(self, client: Client) -> None:
        if client.dropped:
            return
        client.dropped = True
        self.dropped += 1
        log.info("dropped a slow live client", scope=client.scope)
        close = client.socket.close(code=1013, reason="too slow: reconnect with ?since=")
        task = asyncio.ensure_future(close)
        task.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)

    # -- rendering ---------------------------------------------------------------------------

    async def _flush_forever(self) -> None:
        loop = asyncio.get_running_loop()
        refreshed = loop.time()
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.refresh_s):
                    await self._changed.wait()
            self._changed.clear()
            try:
                if loop.time() - refreshed >= self.refresh_s:
                    refreshed = loop.time()
                    # Sessions enter and leave the live window with the clock, not with events.
                    for scope in list(self.clients):
                        await self._push_scope(scope)
                await self.flush()
            except Exception:
                log.exception("live push failed")
            await asyncio.sleep(self.tick_s)  # changes meanwhile share the next push

    async def flush(self) -> None:
        """Push every scope touched by the sessions changed since the last flush."""
        if not self._dirty_sessions or not self.clients:
            self._dirty_sessions.clear()
            return
        dirty, self._dirty_sessions = self._dirty_sessions, set()
        plants = await queries.session_plant(self.muster.store, list(dirty))
        scopes = {f"session:{sid}" for sid in dirty} | {f"plant:{p}" for p in plants.values()}
        scopes |= {
            scope
            for scope, clients in self.clients.items()
            if scope.startswith("dept:") and any(c.plant in plants.values() for c in clients)
        }
        if any(scope.startswith("photo:") for scope in self.clients):
            photos = await queries.photos_of_sessions(self.muster.store, sorted(dirty))
            scopes |= {f"photo:{photo_id}" for photo_id in photos}
        for scope in scopes & set(self.clients):
            await self._push_scope(scope)
        await self._push_anomalies(dirty, scopes, plants)

    async def _push_anomalies(
        self, dirty: set[str], scopes: set[str], plants: dict[str, str]
    ) -> None:
        """Each anomaly flagged or resolved in the changed sessions, as one message to the
        JSON clients of its session, its plant's wallboard or a department of that plant."""
        listeners = [
            c
            for scope in scopes & set(self.clients)
            if not scope.startswith("photo:")
            for c in self.clients[scope]
            if c.fmt == "json"
        ]
        if not listeners:
            return
        for anomaly in await self.anomalies.changed(dirty):
            plant = plants.get(anomaly["session_id"])
            about = {f"session:{anomaly['session_id']}", f"plant:{plant}"}
            for client in listeners:
                mine = client.scope in about or (client.plant == plant and plant is not None)
                if mine and plant in client.visible:
                    self._offer(client, await self.anomalies.message(anomaly, client.visible))
                    self.pushes += 1

    async def _push_scope(self, scope: str, only: Client | None = None) -> None:
        targets = [only] if only is not None else list(self.clients.get(scope, ()))
        if not targets or scope == "inbox":
            return
        kind, _, key = scope.partition(":")
        if kind == "photo":
            await self._push_photo(key, targets)
            return
        settings = self.muster.settings
        now = datetime.now(UTC)
        board: dict[str, Any] = {}
        detail: queries.SessionDetail | None = None
        if kind in ("plant", "dept"):
            plant = key if kind == "plant" else targets[0].plant
            board = await queries.plant_board(
                self.muster.store, plant or "", now, self.muster.policy, settings.dept_alert_rate
            )
            version = int(board["version"])
            template, name = "_board.html", "board"
        else:
            detail = await queries.session_detail(
                self.muster.store, key, now, self.muster.policy, settings.dept_alert_rate
            )
            if detail is None:
                return
            version = int(detail.unredacted["version"])
            template, name = "_session_body.html", "session"
        # One render per format and language; a session page also per set of visible plants
        # (a wallboard shows no look-alikes, so all its viewers share one).
        rendered: dict[tuple[str, str, frozenset[str], Any], str] = {}
        for client in targets:
            visible = client.visible if detail is not None else frozenset()
            seer = client.viewer
            key_ = (client.fmt, client.lang, visible, seer.key if seer else None)
            if key_ not in rendered:
                # A wallboard shows no look-alikes; a session page shows them as `visible` may.
                if detail is None:
                    view = seer.board(board) if seer else board
                else:
                    view = detail.seen_from(visible, seer.people if seer else None)
                if client.fmt == "json":
                    rendered[key_] = json.dumps(
                        {
                            "type": kind,
                            "id": key,
                            "version": version,
                            name: view,
                        },
                        ensure_ascii=False,
                        default=str,
                    )
                else:
                    rendered[key_] = render(
                        template, client.lang, oob=True, now=now, **{name: view}
                    )
            self._offer(client, rendered[key_])
            client.sent_version = version
            self.pushes += 1

    async def _push_photo(self, photo_id: str, targets: list[Client]) -> None:
        """A photo evidence page: its body again (analysed, counted again, reused …)."""
        for client in targets:
            context = await photo_context(self.muster, photo_id, client.visible, client.session)
            if context is None:
                continue
            self.pushes += 1
            if client.fmt == "json":
                message = {"type": "photo", "id": photo_id, "version": self.pushes}
                text = json.dumps(
                    {**message, "photo": context["photo"], "pending": context["pending"]},
                    ensure_ascii=False,
                    default=str,
                )
            else:
                text = render("_photo_body.html", client.lang, oob=True, **context)
            self._offer(client, text)
