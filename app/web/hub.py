"""The websocket hub: projections say which sessions changed; the hub re-renders the
affected plant wallboards, HR boards and session pages once per tick and pushes them.

Changes travel over the event bus (`muster.live.session.<id>`), so the same hub works when
projections run in this process (embedded) or in `muster worker` processes (scale-out). When
the bus comes back after an outage every open scope is pushed again: what changed meanwhile
shows at once, and alert notices published meanwhile arrive from the stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import OrderedDict, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from litestar import WebSocket

from app.alerts.toasts import KEPT_NOTICES, notes_after
from app.bootstrap import Muster
from app.projections import queries
from app.projections.visibility import Viewer
from app.streams.bus import Message, Subscription
from app.web.alert_text import describe
from app.web.live_anomalies import AnomalyFeed
from app.web.live_views import alert_text, board_unit, boards_of, render_scope

log = structlog.get_logger(__name__)


#: messages waiting per connection: a client this far behind is dropped (it reconnects with
#: `?since=` and gets a fresh snapshot and the alerts it missed)
QUEUE = 16
#: a send that takes longer than this drops the client
SEND_TIMEOUT_S = 5.0
#: alert notices a reconnecting client (`?since=`) is replayed at most (the store keeps as
#: many); also how many this process keeps in memory, to push each once
RECENT_ALERTS = KEPT_NOTICES
#: toasts a page that reconnects is shown of those it missed (the newest)
REPLAY_TOASTS = 5


@dataclass(eq=False)
class Client:
    """One connected websocket: its scope ('plant:P1', 'session:<id>', 'board:<org>'), format
    and language, and the plants its user may see (looked up once, when it connects: every
    push of a session page is redacted by them)."""

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
    #: are sent again; then the newest alert notice it was sent (a notice at or below it is
    #: a repeat: a resend after JetStream's duplicate window, or one it was replayed)
    since: int | None = None
    #: alert notices wait until the replay of what it missed is sent (`LiveHub._replay`)
    replaying: bool = False
    #: a photo page's session, the one it compares the photo with
    session: str | None = None
    #: a JSON client's anomaly mark (`AnomalyFeed.mark`): it is sent the anomalies flagged
    #: or resolved after it, not those from before it connected
    anomalies_after: tuple[int, str] | None = None
    sent_version: int = -1
    #: messages waiting to be sent, at most `QUEUE` + `backlog`, the replayed ones not yet sent
    #: (a deque and a future on demand: an `asyncio.Queue` costs four times the memory)
    pending: deque[str] = field(default_factory=deque)
    backlog: int = 0
    waiter: asyncio.Future[None] | None = None
    dropped: bool = False
    #: when the send under way began (loop time), None while idle
    sending_since: float | None = None


class LiveHub:
    """Fans out view changes to websocket clients. A change is pushed at once; what changes
    in the next tick waits for it, so a burst costs one push per tick, not one per event."""

    def __init__(self, muster: Muster, tick_s: float = 0.1, refresh_s: float = 15.0) -> None:
        self.muster = muster
        self.tick_s = tick_s
        self.refresh_s = refresh_s
        self.clients: dict[str, set[Client]] = defaultdict(set)
        self._dirty_sessions: set[str] = set()
        self._refresh_all = False
        self._changed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._subscription: Subscription | None = None
        self._alerts: Subscription | None = None
        #: alert notices by version (log position), oldest first
        self._recent: OrderedDict[int, dict[str, Any]] = OrderedDict()
        #: org path of each HR board scope with clients
        self._board_paths: dict[str, str] = {}
        self.dropped = 0
        self.pushes = 0
        self.anomalies = AnomalyFeed(muster.store)

    @property
    def recent_alerts(self) -> list[dict[str, Any]]:
        """The alert notices kept for `?since=`, oldest first."""
        return list(self._recent.values())

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        self.muster.bus.on_resume(self.resync)
        self._subscription = await self.muster.bus.subscribe(self.muster.live_subject + ".*")
        self._alerts = await self.muster.bus.subscribe(self.muster.alert_subject + ".*")
        self._tasks = [
            asyncio.create_task(self._consume(self._subscription)),
            asyncio.create_task(self._consume_alerts(self._alerts)),
            asyncio.create_task(self._flush_forever()),
            asyncio.create_task(self._watch_sends()),
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

    def resync(self) -> None:
        """Push every open scope again (the bus is back: changes may have been missed)."""
        self._refresh_all = True
        self._changed.set()

    async def _consume(self, subscription: Subscription) -> None:
        await self._follow(subscription, self._session_changed)

    async def _consume_alerts(self, subscription: Subscription) -> None:
        await self._follow(subscription, self._alert_message)

    @staticmethod
    async def _follow(subscription: Subscription, handle: Callable[[Message], None]) -> None:
        """Hand every message to `handle` until the subscription ends; a failure of the
        subscription is logged and it is followed again (live pages must not fall silent)."""
        while True:
            try:
                async for message in subscription:
                    handle(message)
                return
            except Exception:
                log.exception("a live subscription failed; following it again")
                await asyncio.sleep(1.0)

    def _session_changed(self, message: Message) -> None:
        try:
            self._dirty_sessions.add(json.loads(message.data)["session_id"])
            self._changed.set()
        except (ValueError, KeyError):
            log.warning("ignored malformed live message", subject=message.subject)

    def _alert_message(self, message: Message) -> None:
        try:
            self.push_alert(json.loads(message.data))
        except (ValueError, KeyError, TypeError):
            log.warning("ignored malformed alert message", subject=message.subject)

    def push_alert(self, note: dict[str, Any]) -> None:
        """An alert notice: a toast on every inbox socket of its recipients; the JSON message
        to JSON clients it is addressed to or whose plant or session it is about. A notice
        seen before (delivered again after an outage) is not sent twice: not by this process
        (its recent versions), and not to a client that was sent or replayed a version as new
        (a resend after JetStream's duplicate window reaching a process started since)."""
        version = int(note.get("version", 0))
        if version in self._recent:
            return
        self._recent[version] = note
        if len(self._recent) > RECENT_ALERTS:
            self._recent.popitem(last=False)
        session_id = note["alert"]["subject"].get("session_id")
        if session_id:  # boards list a session's open alerts
            self._dirty_sessions.add(session_id)
            self._changed.set()
        toasts: dict[str, str] = {}
        for clients in list(self.clients.values()):
            for client in list(clients):
                if client.replaying or (client.since is not None and version <= client.since):
                    continue  # in its replay, or a repeat of what it was shown
                text = alert_text(client, note, toasts)
                if text is not None:
                    self._offer(client, text)
                    client.since = version
                    self.pushes += 1

    async def _replay(self, client: Client) -> None:
        """The alert notices after `client.since` (a reconnecting client's last version): those
        kept in the store by the toasts' follower (durable: any web process, restarted or
        not, replays them), and those this process has just received and the store may not
        hold yet."""
        since = client.since
        if since is None:
            return
        client.replaying = True  # notices arriving meanwhile are in `_recent`: sent below
        try:
            stored = await notes_after(
                self.muster.store, since, RECENT_ALERTS, describe, client.lang
            )
        finally:
            client.replaying = False
        notes = {int(note["version"]): note for note in stored}
        notes |= {v: note for v, note in self._recent.items() if v > since}
        missed = []
        for version, note in sorted(notes.items()):
            text = alert_text(client, note, {})  # each notice its own text
            if text is not None:
                missed.append(text)
            client.since = max(client.since or since, version)
        if client.fmt != "json":  # a page shows the newest few; the inbox lists them all
            missed = missed[-REPLAY_TOASTS:]
        client.backlog += len(missed)  # never dropped for the size of what it asked for
        for text in missed:
            self._offer(client, text)

    # -- clients -----------------------------------------------------------------------------

    async def serve(self, client: Client) -> None:
        """Register `client`, send its snapshot, then push until it disconnects."""
        if client.scope.startswith("board:") and client.scope not in self._board_paths:
            unit = await board_unit(self.muster, client.scope.partition(":")[2])
            self._board_paths[client.scope] = unit["path"] if unit else ""
        if client.fmt == "json" and client.scope.startswith(("session:", "plant:", "dept:")):
            client.anomalies_after = await self.anomalies.mark()
        self.clients[client.scope].add(client)
        writer = asyncio.create_task(self._write(client))
        try:
            await self._push_scope(client.scope, only=client)
            await self._replay(client)
            while True:
                await client.socket.receive_data(mode="text")  # pings and closes
        except Exception:  # disconnects surface as various exceptions: all end this client
            pass
        finally:
            self.clients[client.scope].discard(client)
            if not self.clients[client.scope]:
                del self.clients[client.scope]
                self._board_paths.pop(client.scope, None)
            writer.cancel()

    async def _write(self, client: Client) -> None:
        loop = asyncio.get_running_loop()
        while not client.dropped:
            if not client.pending:
                client.waiter = loop.create_future()
                await client.waiter
                client.waiter = None
                continue
            client.sending_since = loop.time()
            try:
                await client.socket.send_text(client.pending.popleft())
            except Exception:  # the socket is gone: `serve` ends this client
                return
            client.backlog = max(client.backlog - 1, 0)
            client.sending_since = None

    async def _watch_sends(self) -> None:
        """Drop clients whose send has not finished within `SEND_TIMEOUT_S` (one look per
        second for all, instead of a timer per send)."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(1.0)
            late = loop.time() - SEND_TIMEOUT_S
            for clients in list(self.clients.values()):
                for client in list(clients):
                    if client.sending_since is not None and client.sending_since < late:
                        self._drop(client)

    def _offer(self, client: Client, text: str) -> None:
        """Queue a message; a client whose queue is full is dropped, so one slow screen never
        holds up the others or grows the server's memory."""
        if client.dropped:
            return
        if len(client.pending) >= QUEUE + client.backlog:
            self._drop(client)
            return
        client.pending.append(text)
        if client.waiter is not None and not client.waiter.done():
            client.waiter.set_result(None)

    def _drop(self, client: Client) -> None:
        if client.dropped:
            return
        client.dropped = True
        self.dropped += 1
        log.info("dropped a slow live client", scope=client.scope)
        close = client.socket.close(code=1013, reason="too slow: reconnect with ?since=")
        task = asyncio.ensure_future(close)
        task.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)

    # -- pushing -----------------------------------------------------------------------------

    async def _flush_forever(self) -> None:
        loop = asyncio.get_running_loop()
        refreshed = loop.time()
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.refresh_s):
                    await self._changed.wait()
            self._changed.clear()
            began = loop.time()
            try:
                if self._refresh_all or loop.time() - refreshed >= self.refresh_s:
                    # Sessions enter and leave the live window with the clock, not with events;
                    # after a bus outage, changes may have been missed.
                    refreshed = loop.time()
                    self._refresh_all = False
                    for scope in list(self.clients):
                        await self._push_scope(scope)
                await self.flush()
            except Exception:
                log.exception("live push failed")
            # Changes meanwhile share the next push, at most one per tick counted from this
            # one's start: a slow flush is not followed by a full tick of waiting.
            await asyncio.sleep(max(0.0, began + self.tick_s - loop.time()))

    async def flush(self) -> None:
        """Push every scope touched by the sessions changed since the last flush."""
        if not self._dirty_sessions or not self.clients:
            self._dirty_sessions.clear()
            return
        dirty, self._dirty_sessions = self._dirty_sessions, set()
        if all(scope.startswith(("session:", "inbox")) for scope in self.clients):
            # Only session pages are open: a change to any other session shows nowhere.
            dirty = {sid for sid in dirty if f"session:{sid}" in self.clients}
            if not dirty:
                return
        plants = await queries.session_plant(self.muster.store, list(dirty))
        scopes = {f"session:{sid}" for sid in dirty} | {f"plant:{p}" for p in plants.values()}
        scopes |= {
            scope
            for scope, clients in self.clients.items()
            if scope.startswith("dept:") and any(c.plant in plants.values() for c in clients)
        }
        if self._board_paths:
            scopes |= await boards_of(self.muster, self._board_paths, set(plants.values()))
        if any(scope.startswith("photo:") for scope in self.clients):
            photos = await queries.photos_of_sessions(self.muster.store, sorted(dirty))
            scopes |= {f"photo:{photo_id}" for photo_id in photos}
        # Each scope's queries go to the store together, not one scope after another.
        await asyncio.gather(*(self._push_scope(scope) for scope in scopes & set(self.clients)))
        await self._push_anomalies(dirty, scopes, plants)

    async def _push_anomalies(
        self, dirty: set[str], scopes: set[str], plants: dict[str, str]
    ) -> None:
        """Each anomaly flagged or resolved in the changed sessions, as one message to the
        JSON clients of its session, its plant's wallboard or a department of that plant."""
        listeners = [
            c
            for scope in scopes & set(self.clients)
            for c in self.clients[scope]
            if c.anomalies_after is not None
        ]
        for client, text in await self.anomalies.messages(listeners, dirty, plants):
            self._offer(client, text)
            self.pushes += 1

    async def _push_scope(self, scope: str, only: Client | None = None) -> None:
        targets = [only] if only is not None else list(self.clients.get(scope, ()))
        if not targets or scope == "inbox":
            return
        rendered = await render_scope(self.muster, scope, targets)
        if rendered is None:
            return
        version, texts = rendered
        for client, text in texts:
            self._offer(client, text)
            client.sent_version = version if version >= 0 else client.sent_version + 1
            self.pushes += 1
