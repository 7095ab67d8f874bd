// The phone page: the employee logs in once, scans the room's QR (BarcodeDetector) or types
// its 6-digit code, and checks in as themselves; the phone's own random id goes along, so one
// phone checking in two people is seen. Check-ins wait in the outbox while offline.
"use strict";

(function () {
  const T = JSON.parse(document.body.dataset.text || "{}");
  const $ = (id) => document.getElementById(id);
  const TOKEN = "muster-user-token";
  const PHONE = "muster-phone-id";
  const SESSIONS = "muster-phone-sessions";
  const token = () => localStorage.getItem(TOKEN) || "";
  if (!localStorage.getItem(PHONE)) localStorage.setItem(PHONE, window.musterNewId());
  const phoneId = localStorage.getItem(PHONE);
  let latest = 0;

  const outbox = new window.MusterOutbox("phone", token, (n) => {
    $("p-queue").hidden = n === 0;
    $("p-queue").textContent = `${T["kiosk.queued"]} ${n}`;
  });

  function setNet() {
    $("p-net").className = `pill ${navigator.onLine ? "online" : "offline"}`;
    $("p-net").textContent = navigator.onLine ? T["kiosk.online"] : T["kiosk.offline"];
  }
  window.addEventListener("online", setNet);
  window.addEventListener("offline", setNet);
  setNet();

  function show(kind, name, message) {
    $("p-result").className = `p-card p-result ${kind}`;
    $("p-name").textContent = name || "";
    $("p-message").textContent = message || "";
  }

  function api(path, options) {
    const headers = { Authorization: `Bearer ${token()}`, "Accept-Language": document.documentElement.lang };
    if (options && options.json) {
      headers["Content-Type"] = "application/json";
      return fetch(path, { method: "POST", headers, body: JSON.stringify(options.json) });
    }
    return fetch(path, { method: (options && options.method) || "GET", headers, body: options && options.body });
  }

  // -- login ----------------------------------------------------------------------------------

  function loggedIn(yes) {
    $("p-login").hidden = yes;
    $("p-main").hidden = !yes;
    if (yes) loadMe();
  }

  $("p-login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const response = await fetch("/api/v1/auth/token", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept-Language": document.documentElement.lang },
      body: JSON.stringify({ login: form.get("login"), password: form.get("password") }),
    }).catch(() => null);
    if (!response || !response.ok) {
      $("p-login-error").hidden = false;
      $("p-login-error").textContent = response ? (await response.json()).detail : T["phone.needs_network"];
      return;
    }
    localStorage.setItem(TOKEN, (await response.json()).token);
    loggedIn(true);
  });

  $("p-logout").addEventListener("click", () => {
    localStorage.removeItem(TOKEN);
    loggedIn(false);
  });

  let me = null;
  async function loadMe() {
    try {
      const response = await api("/api/v1/me/employee");
      if (response.status === 401) return loggedIn(false);
      if (response.ok) {
        me = await response.json();
        $("p-who").textContent = `${me.name} · ${me.employee_id}`;
      }
      const sessions = await api("/api/v1/me/sessions");
      if (sessions.ok) localStorage.setItem(SESSIONS, JSON.stringify(await sessions.json()));
      const notices = await api("/api/v1/me/notices");
      if (notices.ok) showNotices((await notices.json()).notices);
    } catch (error) {
      // offline: show what we knew
    }
    showSessions();
  }

  // changes to the employee's sessions (moved, cancelled, added, removed), the newest first
  function showNotices(list) {
    if (!list || !list.length) return;
    const ul = $("p-notices");
    ul.replaceChildren();
    list.slice(0, 10).forEach((n) => {
      const li = document.createElement("li");
      li.className = `notice ${n.kind}`;
      li.textContent = n.text;
      ul.appendChild(li);
    });
  }

  function showSessions() {
    const known = JSON.parse(localStorage.getItem(SESSIONS) || "null");
    const all = (known && (known.sessions || known)) || [];
    const now = Date.now();
    // upcoming and running ones only, the next first
    const list = Array.isArray(all) ? all.filter((s) => !s.ends_at || Date.parse(s.ends_at) > now).slice(0, 8) : [];
    if (!list.length) return;
    const ul = $("p-sessions");
    ul.replaceChildren();
    list.forEach((s) => {
      const li = document.createElement("li");
      const when = new Date(s.starts_at).toLocaleString(document.documentElement.lang, { dateStyle: "short", timeStyle: "short" });
      li.textContent = `${when} · ${s.title || s.course || ""} · ${s.room || ""}`;
      ul.appendChild(li);
    });
  }

  // -- check-in -------------------------------------------------------------------------------

  async function checkIn(qrToken, sessionId) {
    const item = await outbox.add({
      kind: "checkin",
      body: { method: "qr", qr_token: qrToken, session_id: sessionId, phone_id: phoneId, device_time: new Date().toISOString() },
    });
    latest = item.seq;
    const queued = () => { if (latest === item.seq) show("queued", "", T["kiosk.saved_offline"]); };
    if (!navigator.onLine) return queued();
    show("working", "", T["kiosk.checking"]);
    const reply = outbox.result(item.seq);
    outbox.flush().catch(queued);
    const result = await reply;
    if (latest !== item.seq) return;
    const body = result.body || {};
    if (body.status === "rejected") {
      // refused by the rules and kept as evidence: an answer, never a success
      show("refused", body.employee ? body.employee.name : "", body.message || body.detail || T["kiosk.failed"]);
    } else if (result.ok && body.employee) {
      show(body.status === "flagged" ? "flagged" : "ok", body.employee.name, body.message);
      sendRoomPhoto(sessionId);
    } else {
      show("refused", "", body.message || body.detail || T["kiosk.failed"]);
    }
  }

  function sendRoomPhoto(sessionId) {
    const file = $("p-room-photo").files[0];
    if (!file) return;
    outbox.add({ kind: "photo", file, form: { session_id: sessionId, kind: "room", phone_id: phoneId, device_time: new Date().toISOString() } })
      .then((item) => {
        outbox.result(item.seq).then((r) => { if (r.ok) $("p-message").textContent += ` · ${r.body.message}`; });
        outbox.flush().catch(() => {});
        $("p-room-photo").value = "";
      });
  }

  function sessionOfToken(value) {
    const parts = value.split(".");
    return parts.length === 4 && parts[0] === "MQ1" ? parts[1] : null;
  }

  $("p-code-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const code = $("p-code").value.replace(/\s/g, "");
    if (!/^\d{6}$/.test(code)) return show("refused", "", T["phone.code_format"]);
    try {
      const response = await api("/api/v1/qr-codes/resolve", { json: { code } });
      const body = await response.json();
      if (!response.ok) return show("refused", "", body.detail);
      $("p-code").value = "";
      checkIn(code, body.session_id);
    } catch (error) {
      show("refused", "", T["phone.needs_network"]);
    }
  });

  const video = $("p-video");
  $("p-scan").addEventListener("click", async () => {
    if (!("BarcodeDetector" in window)) return show("refused", "", T["phone.no_scanner"]);
    video.hidden = false;
    if (!(await window.MusterCamera.start(video, "environment"))) {
      video.hidden = true;
      return show("refused", "", T["kiosk.no_camera"]);
    }
    const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    const started = Date.now();
    const look = async () => {
      const codes = await detector.detect(video).catch(() => []);
      const found = codes.map((c) => c.rawValue).find(sessionOfToken);
      if (found) {
        window.MusterCamera.stop(video);
        video.hidden = true;
        return checkIn(found, sessionOfToken(found));
      }
      if (Date.now() - started < 30000) return setTimeout(look, 250);
      window.MusterCamera.stop(video);
      video.hidden = true;
    };
    look();
  });

  // -- face enrolment on the phone -----------------------------------------------------------

  $("p-enrol-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!me) return;
    const form = new FormData();
    form.append("employee_id", me.employee_id);
    form.append("consent", $("p-consent").checked ? "true" : "false");
    Array.from($("p-selfies").files).slice(0, 5).forEach((f) => form.append("file", f, f.name));
    const response = await api("/api/v1/face-enrolments", { method: "POST", body: form }).catch(() => null);
    const body = response ? await response.json() : {};
    $("p-enrol-result").textContent = response && response.ok ? T["face.enrolled"] : (body.reason_text || body.detail || T["phone.needs_network"]);
  });

  $("p-withdraw").addEventListener("click", async () => {
    if (!me) return;
    const response = await api(`/api/v1/face-enrolments/${encodeURIComponent(me.employee_id)}`, { method: "DELETE" }).catch(() => null);
    const body = response ? await response.json() : {};
    $("p-enrol-result").textContent = response && response.ok ? T["face.withdrawn"] : (body.detail || T["phone.needs_network"]);
  });

  loggedIn(Boolean(token()));
})();
