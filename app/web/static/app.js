// The live indicator. htmx's ws extension reconnects by itself.
document.addEventListener("htmx:wsOpen", () => setLive(true));
document.addEventListener("htmx:wsClose", () => setLive(false));
function setLive(online) {
  const el = document.getElementById("live-status");
  if (!el) return;
  el.classList.toggle("offline", !online);
  el.textContent = online ? el.dataset.online : el.dataset.offline;
}

// The inbox socket says which alert notice this tab showed last (`since=`): when it connects
// again (the server restarted, the network dropped, another page of the same tab opened) the
// server first sends the notices raised meanwhile, so no toast is lost.
const SEEN = "muster.alerts.seen";
function lastSeen() {
  try { return Number(sessionStorage.getItem(SEEN) || 0); } catch (e) { return 0; }
}
function sawToast(version) {
  try { if (version > lastSeen()) sessionStorage.setItem(SEEN, String(version)); } catch (e) { /* private mode */ }
}
if (window.htmx && htmx.createWebSocket) {
  const openSocket = htmx.createWebSocket;
  htmx.createWebSocket = (url) => {
    const seen = lastSeen();
    if (seen && url.includes("/ws/live?scope=inbox")) url += "&since=" + seen;
    return openSocket(url);
  };
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
        sawToast(Number(toast.dataset.version || 0));
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
