/* Ticket presence: tell the desk when this agent leaves the ticket page (a beacon with the
 * CSRF token as a form field; the heartbeats themselves are HTMX polls of #presence).
 * Without it the agent ages out of the list after the presence TTL. Posting a form of the
 * page returns to the same ticket, so it is not a leave. */
(function () {
  "use strict";
  var block = document.getElementById("presence");
  if (!block || !navigator.sendBeacon) { return; }
  var url = block.getAttribute("hx-post");
  var token = "";
  try {
    token = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || "";
  } catch (e) { return; }
  if (!url || !token) { return; }
  // A form on the page (reply, save) comes back to this ticket: stay, keep "since".
  var staying = false;
  document.addEventListener("submit", function () { staying = true; });
  window.addEventListener("pagehide", function () {
    if (staying) { return; }
    var form = new FormData();
    form.append("csrf_token", token);
    navigator.sendBeacon(url + "/leave", form);
  });
})();
