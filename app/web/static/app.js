// The live indicator: the only script of our own. htmx's ws extension reconnects by itself.
document.addEventListener("htmx:wsOpen", () => setLive(true));
document.addEventListener("htmx:wsClose", () => setLive(false));
function setLive(online) {
  const el = document.getElementById("live-status");
  if (!el) return;
  el.classList.toggle("offline", !online);
  el.textContent = online ? el.dataset.online : el.dataset.offline;
}
