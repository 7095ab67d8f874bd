// The outbox: check-ins and photos waiting to be sent, kept in IndexedDB so that nothing is
// lost while the network is down or the page reloads. Items are numbered in device order
// (device_seq) and sent in that order: photos one by one, runs of check-ins as one batch.
// The server is exactly-once on client_event_id, so sending an item twice is harmless.
"use strict";

(function () {
  const ITEMS = "items";
  const META = "meta";

  function request(req) {
    return new Promise((resolve, reject) => {
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }

  function done(tx) {
    return new Promise((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  }

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const hex = [];
    const bytes = new Uint8Array(16);
    (window.crypto || {}).getRandomValues ? crypto.getRandomValues(bytes) : bytes.forEach((_, i) => { bytes[i] = Math.random() * 256; });
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    bytes.forEach((b) => hex.push(b.toString(16).padStart(2, "0")));
    const h = hex.join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  class Retry extends Error {}

  class Outbox {
    // name: one queue per page kind; token(): the bearer token; onChange(count) after changes
    constructor(name, token, onChange) {
      this.name = name;
      this.token = token;
      this.onChange = onChange || (() => {});
      this.waiters = new Map();
      this.flushing = null;
      this.delay = 1000;
      this.timer = null;
      this.db = new Promise((resolve, reject) => {
        const open = indexedDB.open(`muster-outbox-${name}`, 1);
        open.onupgradeneeded = () => {
          open.result.createObjectStore(ITEMS, { keyPath: "seq" });
          open.result.createObjectStore(META);
        };
        open.onsuccess = () => resolve(open.result);
        open.onerror = () => reject(open.error);
      });
      window.addEventListener("online", () => this.flush().catch(() => {}));
      this.count().then((n) => { this.onChange(n); if (n) this.flush().catch(() => {}); });
    }

    // Store an item: {kind: "checkin", body} or {kind: "photo", form: {...}, file: Blob, ref}.
    // It gets the next device_seq and a client_event_id; returns the stored item.
    async add(item) {
      const db = await this.db;
      const tx = db.transaction([ITEMS, META], "readwrite");
      const meta = tx.objectStore(META);
      const seq = ((await request(meta.get("seq"))) || 0) + 1;
      meta.put(seq, "seq");
      const stored = { ...item, seq, client_event_id: newId(), queued_at: new Date().toISOString() };
      if (stored.kind === "checkin") {
        stored.body = { ...stored.body, client_event_id: stored.client_event_id, device_seq: seq };
      }
      tx.objectStore(ITEMS).put(stored);
      await done(tx);
      this.onChange(await this.count());
      return stored;
    }

    async all() {
      const db = await this.db;
      return request(db.transaction(ITEMS).objectStore(ITEMS).getAll());
    }

    async count() {
      const db = await this.db;
      return request(db.transaction(ITEMS).objectStore(ITEMS).count());
    }

    async remove(seqs) {
      const db = await this.db;
      const tx = db.transaction(ITEMS, "readwrite");
      seqs.forEach((seq) => tx.objectStore(ITEMS).delete(seq));
      await done(tx);
    }

    async ref(name, value) {
      const db = await this.db;
      const tx = db.transaction(META, value === undefined ? "readonly" : "readwrite");
      const key = `ref:${name}`;
      const result = value === undefined ? await request(tx.objectStore(META).get(key)) : tx.objectStore(META).put(value, key);
      await done(tx);
      return value === undefined ? result : value;
    }

    // A promise for the server's answer to one item (resolved when it has been sent).
    result(seq) {
      return new Promise((resolve) => this.waiters.set(seq, resolve));
    }

    settle(seq, result, results) {
      results.set(seq, result);
      const waiter = this.waiters.get(seq);
      if (waiter) {
        this.waiters.delete(seq);
        waiter(result);
      }
    }

    headers(json) {
      const headers = { Authorization: `Bearer ${this.token()}`, "Accept-Language": document.documentElement.lang };
      if (json) headers["Content-Type"] = "application/json";
      return headers;
    }

    // Send everything queued, in order. Rejects (and retries later by itself) when the
    // network or the server is unavailable; resolves with the answers by device_seq.
    flush() {
      if (!this.flushing) {
        this.flushing = this.send().then(
          (results) => { this.delay = 1000; return results; },
          (error) => { this.later(); throw error; },
        ).finally(() => { this.flushing = null; this.count().then((n) => this.onChange(n)); });
      }
      return this.flushing;
    }

    later() {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.flush().catch(() => {}), this.delay);
      this.delay = Math.min(this.delay * 2, 30000);
    }

    async send() {
      const results = new Map();
      for (;;) {
        const items = await this.all();
        if (!items.length) return results;
        if (items[0].kind === "photo") {
          await this.sendPhoto(items[0], results);
          continue;
        }
        const run = [];
        for (const item of items) {
          if (item.kind !== "checkin" || run.length >= 500) break;
          run.push(item);
        }
        await this.sendCheckIns(run, results);
      }
    }

    async sendPhoto(item, results) {
      const form = new FormData();
      Object.entries(item.form).forEach(([k, v]) => form.append(k, v));
      form.append("client_event_id", item.client_event_id);
      form.append("file", item.file, "photo.jpg");
      const response = await this.post("/api/v1/photos", form, false);
      const body = await response.json().catch(() => ({}));
      if (response.ok && item.ref) await this.ref(item.ref, body.photo_id);
      await this.remove([item.seq]);
      this.settle(item.seq, { ok: response.ok, status: response.status, body }, results);
    }

    async sendCheckIns(run, results) {
      const bodies = [];
      for (const item of run) {
        const body = { ...item.body };
        if (body.face_photo_ref) {
          body.face_photo_id = (await this.ref(body.face_photo_ref)) || undefined;
          delete body.face_photo_ref;
        }
        bodies.push(body);
      }
      const response = await this.post(
        "/api/v1/checkins/batch",
        JSON.stringify({ items: bodies, sent_at: new Date().toISOString() }),
        true,
      );
      const body = await response.json().catch(() => ({}));
      const answers = response.ok ? body.results || [] : run.map(() => body);
      const sent = [];
      run.forEach((item, i) => {
        const answer = answers[i] || body;
        if (answer.status === 503 || answer.status === 429) return; // stays queued
        sent.push(item.seq);
        // a problem has a `type`; a check-in the rules refused is a reply with status "rejected"
        const ok = !answer.type && answer.status !== "rejected";
        this.settle(item.seq, { ok, status: answer.type ? answer.status : 200, body: answer }, results);
      });
      await this.remove(sent);
      if (sent.length < run.length) throw new Retry("server busy");
    }

    async post(url, body, json) {
      const response = await fetch(url, { method: "POST", headers: this.headers(json), body });
      // Busy, down, or not logged in: keep the item and try again later.
      if (response.status >= 500 || response.status === 429 || response.status === 401) {
        throw new Retry(`HTTP ${response.status}`);
      }
      return response;
    }
  }

  window.MusterOutbox = Outbox;
  window.musterNewId = newId;

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {});
  }
})();
