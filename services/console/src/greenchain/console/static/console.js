// greenchain console: the live alerts feed (server-sent events from WatchRatings).
// Served by the console itself; text is inserted with textContent only.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const feed = document.getElementById("alerts");
  if (!feed || !feed.dataset.stream || !window.EventSource) return;
  const status = document.getElementById("live-status");
  let ratings = 0;
  const source = new EventSource(feed.dataset.stream);
  source.addEventListener("open", () => { if (status) status.textContent = "live"; });
  source.addEventListener("rating", () => {
    ratings += 1;
    if (status) status.textContent = "live: " + ratings + " new rating" + (ratings === 1 ? "" : "s");
  });
  source.addEventListener("alert", (event) => {
    const alert = JSON.parse(event.data);
    const item = document.createElement("li");
    item.className = "alert new " + alert.kind;
    const link = document.createElement("a");
    link.href = "/suppliers/" + encodeURIComponent(alert.supplier_id);
    link.textContent = alert.supplier_id;
    item.append(link, " " + alert.supplier_name + ": " + alert.message);
    feed.prepend(item);
  });
  source.addEventListener("end", () => { source.close(); if (status) status.textContent = "feed ended: reload"; });
  source.addEventListener("error", () => { if (status) status.textContent = "reconnecting…"; });
});
