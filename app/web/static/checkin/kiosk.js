// The room kiosk: face (camera), badge (a keyboard-wedge reader types the UID and Enter) and
// manual check-in by the trainer; room photos at the session's first check-in and then every
// N minutes or K check-ins; everything goes through the outbox, so it works offline too.
"use strict";

(function () {
  const T = JSON.parse(document.body.dataset.text || "{}");
  const $ = (id) => document.getElementById(id);
  const TOKEN = "muster-device-token";
  const STATE = "muster-kiosk-state";
  const token = () => localStorage.getItem(TOKEN) || "";
  let state = JSON.parse(localStorage.getItem(STATE) || "null");
  let latest = 0; // device_seq of the newest check-in shown
  let mode = "checkin"; // or "enrol"
  let enrolFor = null;

  if (location.hash.startsWith("#token=")) {
    localStorage.setItem(TOKEN, decodeURIComponent(location.hash.slice(7)));
    history.replaceState(null, "", location.pathname + location.search);
  }

  const outbox = new window.MusterOutbox("kiosk", token, (n) => {
    $("k-queue").hidden = n === 0;
    $("k-queue").textContent = `${T["kiosk.queued"]} ${n}`;
  });

  function setNet() {
    const online = navigator.onLine;
    $("k-net").className = `pill ${online ? "online" : "offline"}`;
    $("k-net").textContent = online ? T["kiosk.online"] : T["kiosk.offline"];
  }
  window.addEventListener("online", setNet);
  window.addEventListener("offline", setNet);
  setNet();

  function show(kind, name, message) {
    $("k-result").className = `k-result ${kind}`;
    $("k-name").textContent = name || "";
    $("k-message").textContent = message || "";
    clearTimeout(show.timer);
    show.timer = setTimeout(() => show("idle", "", T["kiosk.idle"]), 6000);
  }

  function render() {
    const session = state && state.session;
    $("k-room").textContent = state ? state.room : "—";
    $("k-session").textContent = session ? session.title : T["kiosk.no_session"];
    $("k-count").textContent = session ? `${session.checked_in}/${session.expected}` : "0/0";
    renderUpcoming((state && state.upcoming) || []);
  }

  // The room's next sessions (kept with the state, so they show offline too).
  function renderUpcoming(upcoming) {
    const list = $("k-upcoming");
    list.replaceChildren();
    if (!upcoming.length) {
      const none = document.createElement("li");
      none.className = "none";
      none.textContent = T["kiosk.no_upcoming"];
      list.append(none);
      return;
    }
    for (const s of upcoming) {
      const item = document.createElement("li");
      item.dataset.session = s.id;
      const when = document.createElement("time");
      when.dateTime = s.starts_at;
      when.textContent = s.when;
      const title = document.createElement("strong");
      title.textContent = s.title;
      const more = document.createElement("span");
      more.textContent = [s.trainer, `${s.expected} ${T["kiosk.people"]}`].filter(Boolean).join(" · ");
      item.append(when, title, more);
      list.append(item);
    }
  }

  async function refresh() {
    if (!token()) {
      $("k-setup").hidden = false;
      $("k-main").hidden = true;
      return;
    }
    try {
      const response = await fetch("/api/v1/kiosk", {
        headers: { Authorization: `Bearer ${token()}`, "Accept-Language": document.documentElement.lang },
      });
      if (response.status === 401) {
        $("k-setup").hidden = false;
        return;
      }
      if (!response.ok) return;
      state = await response.json();
      localStorage.setItem(STATE, JSON.stringify(state));
    } catch (error) {
      // offline: keep showing what we knew
    }
    render();
  }

  $("k-setup-form").addEventListener("submit", (event) => {
    event.preventDefault();
    localStorage.setItem(TOKEN, $("k-token").value.trim());
    $("k-setup").hidden = true;
    $("k-main").hidden = false;
    refresh();
  });

  // -- check-in -------------------------------------------------------------------------------

  function answer(result) {
    const body = result.body || {};
    if (body.status === "rejected") {
      // refused by the rules and kept as evidence: an answer, never a success
      const who = body.employee ? body.employee.name : "";
      show("refused", who, body.message || body.detail || T["kiosk.failed"]);
      return false;
    }
    if (result.ok && body.employee) {
      show(body.status === "flagged" ? "flagged" : "ok", body.employee.name, body.message);
      return true;
    }
    show("refused", "", body.message || body.detail || T["kiosk.failed"]);
    return false;
  }

  async function submit(fields) {
    const session = state && state.session;
    if (!session) {
      show("refused", "", T["kiosk.no_session"]);
      return;
    }
    const { name, ...body } = fields;
    const item = await outbox.add({
      kind: "checkin",
      body: { ...body, session_id: session.id, device_time: new Date().toISOString() },
    });
    latest = item.seq;
    const queued = () => {
      if (latest === item.seq) show("queued", name || "", T["kiosk.saved_offline"]);
    };
    if (!navigator.onLine) {
      queued();
      roomPhotoAfterCheckIn();
      return;
    }
    show("working", name || "", T["kiosk.checking"]);
    const reply = outbox.result(item.seq);
    outbox.flush().catch(queued);
    const result = await reply;
    if (latest === item.seq && answer(result)) roomPhotoAfterCheckIn();
    refresh();
  }

  // Keyboard-wedge badge readers type the UID quickly and press Enter.
  let typed = "";
  let lastKey = 0;
  document.addEventListener("keydown", (event) => {
    if (event.target instanceof HTMLInputElement) return;
    const now = Date.now();
    if (now - lastKey > 500) typed = "";
    lastKey = now;
    if (event.key === "Enter") {
      event.preventDefault();
      const uid = typed.trim();
      typed = "";
      if (uid.length >= 3 && mode === "checkin") submit({ method: "badge", badge_uid: uid });
    } else if (event.key.length === 1) {
      typed += event.key;
    }
  });

  const video = $("k-video");
  const canvas = $("k-canvas");
  window.MusterCamera.start(video, "user");

  async function photo(kind, ref) {
    const blob = await window.MusterCamera.snapshot(video, canvas, 0.9, kind === "selfie" ? 800 : 0);
    if (!blob || !state || !state.session) return null;
    const item = await outbox.add({
      kind: "photo",
      file: blob,
      ref,
      form: { session_id: state.session.id, kind, device_time: new Date().toISOString() },
    });
    outbox.result(item.seq).then((result) => {
      if (kind === "room" && result.ok) {
        $("k-photo").hidden = false;
        $("k-photo").textContent = `${T["kiosk.room_photo"]} · ${result.body.message}`;
      }
    });
    return item;
  }

  $("k-face").addEventListener("click", async () => {
    const ref = window.musterNewId();
    if (!(await photo("selfie", ref))) {
      show("refused", "", T["kiosk.no_camera"]);
      return;
    }
    submit({ method: "face", face_photo_ref: ref });
  });

  // Room photos: at this session's first check-in here, then every N minutes or K check-ins.
  function photoLog() {
    const id = state && state.session ? state.session.id : "";
    return { key: `muster-room-photo-${id}`, log: JSON.parse(localStorage.getItem(`muster-room-photo-${id}`) || '{"at":0,"since":0}') };
  }

  // The camera may still be starting: try again a few times before giving up on this one.
  function takeRoomPhoto(entry, tries) {
    entry.log.at = Date.now();
    entry.log.since = 0;
    localStorage.setItem(entry.key, JSON.stringify(entry.log));
    photo("room", null).then((item) => {
      if (item) outbox.flush().catch(() => {});
      else if ((tries || 0) < 5) setTimeout(() => takeRoomPhoto(entry, (tries || 0) + 1), 2000);
    });
  }

  function roomPhotoAfterCheckIn() {
    if (!state || !state.session) return;
    const entry = photoLog();
    entry.log.since += 1;
    const policy = state.photo_policy;
    const due = !entry.log.at || entry.log.since >= policy.every_checkins
      || Date.now() - entry.log.at >= policy.every_minutes * 60000;
    if (due) takeRoomPhoto(entry);
    else localStorage.setItem(entry.key, JSON.stringify(entry.log));
  }

  setInterval(() => {
    if (!state || !state.session) return;
    const entry = photoLog();
    if (entry.log.at && Date.now() - entry.log.at >= state.photo_policy.every_minutes * 60000) takeRoomPhoto(entry);
  }, 30000);

  // -- manual check-in and enrolment: pick a person with a big button, no typing --------------

  function openPanel(panel, title) {
    $(panel).hidden = false;
    if (title) $("k-manual-title").textContent = title;
    const people = $("k-people");
    people.hidden = false;
    $("k-reasons").hidden = true;
    people.replaceChildren();
    const roster = (state && state.roster) || [];
    roster.filter((p) => panel !== "k-manual-panel" || p.status === "expected").forEach((person) => {
      const button = document.createElement("button");
      button.className = "huge person";
      button.dataset.employee = person.employee_no;
      button.textContent = person.name;
      people.appendChild(button);
    });
  }

  $("k-manual").addEventListener("click", () => {
    mode = "manual";
    $("k-manual-panel").appendChild($("k-people"));
    $("k-manual-panel").appendChild($("k-reasons"));
    openPanel("k-manual-panel", T["kiosk.pick_person"]);
  });

  let picked = null;
  $("k-people").addEventListener("click", (event) => {
    const button = event.target.closest("button.person");
    if (!button) return;
    picked = { employee_id: button.dataset.employee, name: button.textContent };
    if (mode === "manual") {
      $("k-people").hidden = true;
      $("k-reasons").hidden = false;
      $("k-manual-title").textContent = `${picked.name} · ${T["kiosk.pick_reason"]}`;
    } else {
      enrolFor = picked;
      $("k-people").hidden = true;
      $("k-enrol-step").textContent = `${picked.name}: ${T["kiosk.enrol_consent"]}`;
      $("k-consent-text").hidden = false;
      $("k-consent").hidden = false;
    }
  });

  $("k-reasons").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-reason]");
    if (!button || !picked) return;
    const person = picked;
    closePanels();
    submit({ method: "manual", employee_id: person.employee_id, reason: button.dataset.reason, name: person.name });
  });

  $("k-enrol").addEventListener("click", () => {
    mode = "enrol";
    $("k-enrol-panel").insertBefore($("k-people"), $("k-consent-text"));
    $("k-enrol-step").textContent = T["kiosk.enrol_pick"];
    $("k-consent-text").hidden = true;
    $("k-consent").hidden = true;
    openPanel("k-enrol-panel");
  });

  $("k-consent").addEventListener("click", async () => {
    const person = enrolFor;
    if (!person) return;
    const form = new FormData();
    form.append("employee_id", person.employee_id);
    form.append("consent", "true");
    $("k-consent").hidden = true;
    for (let i = 0; i < 3; i += 1) {
      $("k-enrol-step").textContent = `${T["kiosk.enrol_look"]} ${i + 1}/3`;
      await new Promise((resolve) => setTimeout(resolve, 700));
      const blob = await window.MusterCamera.snapshot(video, canvas, 0.92, 800);
      if (blob) form.append("file", blob, `selfie-${i}.jpg`);
    }
    try {
      const response = await fetch("/api/v1/face-enrolments", {
        method: "POST",
        headers: { Authorization: `Bearer ${token()}`, "Accept-Language": document.documentElement.lang },
        body: form,
      });
      const body = await response.json();
      closePanels();
      if (response.ok) show("ok", person.name, T["face.enrolled"]);
      else show("refused", person.name, body.reason_text || body.detail);
    } catch (error) {
      closePanels();
      show("refused", person.name, T["kiosk.enrol_needs_network"]);
    }
  });

  function closePanels() {
    mode = "checkin";
    picked = null;
    enrolFor = null;
    $("k-manual-panel").hidden = true;
    $("k-enrol-panel").hidden = true;
  }
  document.querySelectorAll("[data-close]").forEach((b) => b.addEventListener("click", closePanels));

  render();
  refresh();
  setInterval(refresh, 5000);
})();
