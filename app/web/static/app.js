// The live indicator: the only script of our own. htmx's ws extension reconnects by itself.
document.addEventListener("htmx:wsOpen", () => setLive(true));
document.addEventListener("htmx:wsClose", () => setLive(false));
function setLive(online) {
  const el = document.getElementById("live-status");
  if (!el) return;
  el.classList.toggle("offline", !online);
  el.textContent = online ? el.dataset.online : el.dataset.offline;
}

// Alert toasts arrive over the inbox websocket; each also becomes a browser notification
// once the user allowed them (the inbox page offers the button), and fades after a while.
const TOAST_MS = 30000;
function watchToasts() {
  const box = document.getElementById("toasts");
  if (!box) return;
  new MutationObserver((changes) => {
    for (const change of changes) {
      for (const toast of change.addedNodes) {
        if (!(toast instanceof HTMLElement) || !toast.classList.contains("toast")) continue;
        if ("Notification" in window && Notification.permission === "granted") {
          new Notification(toast.dataset.title || "Muster", { body: toast.dataset.body || "" });
        }
        setTimeout(() => toast.remove(), TOAST_MS);
      }
    }
  }).observe(box, { childList: true });
}
function offerNotifications() {
  const button = document.querySelector(".notify-me");
  if (!button || !("Notification" in window) || Notification.permission !== "default") return;
  button.hidden = false;
  button.addEventListener("click", () => Notification.requestPermission().then(() => { button.hidden = true; }));
}
document.addEventListener("DOMContentLoaded", () => { watchToasts(); offerNotifications(); });
