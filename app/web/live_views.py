"""What the websocket hub sends to the clients of one live scope: each view is read once per
push and rendered once per distinct (format, language, what the viewer may see); clients that
share those get the very same text object, so a thousand wallboards cost one render.

Scopes: `plant:<code>` (wallboard), `dept:<code>` (a department's wallboard), `session:<id>`
(session page), `photo:<id>` (photo evidence page), `board:<org code>` (HR's live board of
that org unit: the same for everyone allowed to open it). Alert notices are worded once per
language (toasts) and encoded once (JSON) for all the clients they go to."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from app.bootstrap import Muster
from app.projections import queries
from app.projections.hr_board import hr_board
from app.stores.base import iso
from app.web.alert_text import describe
from app.web.pages import photo_context
from app.web.render import render

if TYPE_CHECKING:
    from app.web.hub import Client

#: the version shown and the text for each client of a scope
Rendered = tuple[int, list[tuple["Client", str]]]


#: CONTRACT.md's message `type` of each scope's view: a wallboard's counts are attendance; a
#: session page and a photo page (a session's photo, its headcount) are the session's state.
#: The scope's own kind travels beside it as `kind`.
MESSAGE_TYPES = {
    "plant": "attendance",
    "dept": "attendance",
    "board": "attendance",
    "session": "session",
    "photo": "session",
}


def encode(kind: str, key: str, version: int, name: str, view: Any, **more: Any) -> str:
    """The JSON message of a `kind` scope's view (`{"type", "kind", "id", "version", <name>:
    view, **more}`): `type` is one of the contract's four, `kind` says which view it is."""
    message = {"type": MESSAGE_TYPES[kind], "kind": kind, "id": key, "version": version}
    message |= {name: view, **more}
    return json.dumps(message, ensure_ascii=False, default=str)


def render_key(client: Client) -> tuple[Any, ...]:
    """Clients of one scope with equal keys are sent the same text."""
    kind = client.scope.partition(":")[0]
    if kind == "photo":  # compared with the session the page came from, per viewer
        return (client.fmt, client.lang, client.visible, client.session, id(client))
    if kind == "board":  # the same for everyone allowed to open it
        return (client.fmt, client.lang)
    # A session page differs by the plants its viewer may see (look-alikes); a wallboard
    # shows none, so all its viewers with one narrowing share it.
    visible = client.visible if kind == "session" else frozenset()
    seer = client.viewer
    return (client.fmt, client.lang, visible, seer.key if seer else None)


async def render_scope(muster: Muster, scope: str, targets: Sequence[Client]) -> Rendered | None:
    """The text each of `targets` (clients of `scope`) is sent; None if there is nothing."""
    kind, _, key = scope.partition(":")
    now = muster.adapters.clock()
    if kind == "photo":
        return await _photo(muster, key, targets)
    if kind == "board":
        return await _hr_board(muster, key, targets, now)
    settings = muster.settings
    board: dict[str, Any] = {}
    detail: queries.SessionDetail | None = None
    if kind in ("plant", "dept"):
        plant = key if kind == "plant" else targets[0].plant
        board = await queries.plant_board(
            muster.store, plant or "", now, muster.policy, settings.dept_alert_rate
        )
        version = int(board["version"])
        template, name = "_board.html", "board"
    else:
        detail = await queries.session_detail(
            muster.store, key, now, muster.policy, settings.dept_alert_rate
        )
        if detail is None:
            return None
        version = int(detail.unredacted["version"])
        template, name = "_session_body.html", "session"
    rendered: dict[tuple[Any, ...], str] = {}
    out: list[tuple[Client, str]] = []
    for client in targets:
        seer = client.viewer
        same = render_key(client)
        text = rendered.get(same)
        if text is None:
            if detail is None:
                view = seer.board(board) if seer else board
            else:
                view = detail.seen_from(client.visible, seer.people if seer else None)
            if client.fmt == "json":
                text = encode(kind, key, version, name, view)
            else:
                text = render(
                    template, client.lang, tz=settings.plant_tz, oob=True, now=now, **{name: view}
                )
            rendered[same] = text
        out.append((client, text))
    return version, out


def alert_text(client: Client, note: dict[str, Any], rendered: dict[str, str]) -> str | None:
    """What `client` is sent of an alert notice, if anything. `rendered` keeps the texts made
    for earlier clients of the same notice (a toast per language, the JSON message)."""
    alert = note["alert"]
    mine = client.login in alert["recipients"]
    if client.scope == "inbox" and mine and client.fmt != "json":
        if note["notice"] != "raised":
            return None
        if client.lang not in rendered:
            title, detail = describe(alert, client.lang)
            rendered[client.lang] = render(
                "_alert_toast.html",
                client.lang,
                title=title,
                detail=detail,
                version=note.get("version", 0),
            )
        return rendered[client.lang]
    subject = alert["subject"]
    about = {
        f"plant:{alert.get('plant')}",
        f"session:{subject.get('session_id')}",
        f"dept:{subject.get('org_code')}",
    }
    if client.fmt == "json" and (mine or client.scope in about):
        if "json" not in rendered:  # encoded once for every JSON client
            rendered["json"] = json.dumps(note, ensure_ascii=False)
        return rendered["json"]
    return None


async def board_unit(muster: Muster, code: str) -> dict[str, Any] | None:
    """The org unit of an HR board scope (code, kind, path)."""
    return await muster.store.afetch_one(
        "SELECT code, kind, path FROM org_units WHERE code = :c", {"c": code}
    )


async def _hr_board(
    muster: Muster, code: str, targets: Sequence[Client], now: datetime
) -> Rendered | None:
    unit = await board_unit(muster, code)
    if unit is None:
        return None
    org = queries.Scope(unit["code"], unit["path"])
    day = now.astimezone(muster.settings.plant_tz).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    # Allowed viewers' scopes hold the unit, and then the board depends on the unit alone.
    board = await hr_board(muster.store, org, org, unit["kind"], day, now)
    version = max((int(s.get("version") or 0) for s in board["sessions"]), default=0)
    rendered: dict[tuple[Any, ...], str] = {}
    out: list[tuple[Client, str]] = []
    for client in targets:
        same = render_key(client)
        text = rendered.get(same)
        if text is None:
            if client.fmt == "json":
                text = encode("board", code, version, "board", board)
            else:
                context = {"board": board, "org": code, "now": now, "now_iso": iso(now)}
                text = render(
                    "_live_body.html",
                    client.lang,
                    tz=muster.settings.plant_tz,
                    oob=True,
                    **context,
                )
            rendered[same] = text
        out.append((client, text))
    return version, out


async def _photo(muster: Muster, photo_id: str, targets: Sequence[Client]) -> Rendered | None:
    """A photo evidence page: its body again (analysed, counted again, reused …), per client
    (what it shows depends on the plants its viewer may see and the session it came from)."""
    out: list[tuple[Client, str]] = []
    for client in targets:
        context = await photo_context(muster, photo_id, client.visible, client.session)
        if context is None:
            continue
        if client.fmt == "json":
            version = client.sent_version + 1
            photo = context["photo"]
            text = encode("photo", photo_id, version, "photo", photo, pending=context["pending"])
        else:
            text = render(
                "_photo_body.html", client.lang, tz=muster.settings.plant_tz, oob=True, **context
            )
        out.append((client, text))
    return None if not out else (-1, out)


async def boards_of(muster: Muster, board_paths: dict[str, str], plants: set[str]) -> set[str]:
    """The HR board scopes (`board_paths`: scope → its unit's org path) that show sessions of
    `plants`: their unit holds the plant or lies inside it."""
    if not plants:
        return set()
    params = {f"p{i}": p for i, p in enumerate(sorted(plants))}
    rows = await muster.store.afetch(
        f"SELECT path FROM org_units WHERE code IN ({', '.join(':' + k for k in params)})",
        params,
    )
    paths = [r["path"] for r in rows]
    return {
        scope
        for scope, unit in board_paths.items()
        if any(p.startswith(unit) or unit.startswith(p) for p in paths)
    }
