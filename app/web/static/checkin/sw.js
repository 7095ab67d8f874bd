// The service worker of the check-in pages: the kiosk and phone pages and their scripts open
// even when the network is down. API calls are never cached (the outbox queues them).
"use strict";

const CACHE = "muster-checkin-v1";
const SHELL = [
  "/kiosk",
  "/m",
  "/static/checkin/checkin.css",
  "/static/checkin/outbox.js",
  "/static/checkin/camera.js",
  "/static/checkin/kiosk.js",
  "/static/checkin/phone.js",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  const shell = url.pathname === "/kiosk" || url.pathname === "/m" || url.pathname.startsWith("/static/checkin/");
  if (!shell) return;
  // Network first (the newest page when online), the cached copy when offline.
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(event.request, copy));
        }
        return response;
      })
      .catch(() => caches.match(event.request, { ignoreSearch: true })),
  );
});
