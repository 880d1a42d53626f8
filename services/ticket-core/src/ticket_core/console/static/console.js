/* Agent console: live updates over the gateway's /ws/agents, toasts, the incoming-call
 * popup, SLA countdowns and priority colours. No inline script anywhere (CSP); text from
 * pushes is only ever set with textContent. */
(function () {
  "use strict";

  var body = document.body;
  var me = Number(body.dataset.agentId || 0);
  var KIND_LABELS = {
    "ticket.created": "New ticket",
    "message.added": "New message",
    "message.updated": "Message edited",
    "status.changed": "Status changed",
    "responsible.changed": "Responsible changed",
    "field.changed": "Ticket changed",
    "sla.warning": "SLA warning",
    "sla.breached": "SLA breached",
    "agent.mentioned": "You were mentioned",
    "ticket.escalated": "Escalated",
    "ticket.rated": "Rated",
  };

  function paintCorners(root) {
    root.querySelectorAll(".corner-mark[data-colour]").forEach(function (el) {
      var colour = el.dataset.colour;
      if (/^#[0-9a-fA-F]{6}$/.test(colour)) { el.style.borderTopColor = colour; }
    });
  }

  function span(seconds) {
    var minutes = Math.floor(Math.abs(seconds) / 60);
    var days = Math.floor(minutes / 1440), hours = Math.floor((minutes % 1440) / 60);
    var mins = minutes % 60;
    if (days) { return days + "d " + hours + "h"; }
    if (hours) { return hours + "h " + mins + "m"; }
    return mins + "m";
  }

  function tickCountdowns() {
    var now = Date.now();
    document.querySelectorAll(".sla[data-due]").forEach(function (el) {
      var left = (Date.parse(el.dataset.due) - now) / 1000;
      var target = el.dataset.target || "";
      if (isNaN(left)) { return; }
      if (left < 0) {
        el.textContent = target + " overdue " + span(left);
        el.className = "sla sla-late";
      } else {
        el.textContent = target + " in " + span(left);
        el.className = "sla sla-ok";
      }
    });
  }

  function beep() {
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) { return; }
      var ctx = new Ctx(), osc = ctx.createOscillator(), gain = ctx.createGain();
      osc.frequency.value = 880; gain.gain.value = 0.05;
      osc.connect(gain); gain.connect(ctx.destination);
      osc.start(); osc.stop(ctx.currentTime + 0.15);
    } catch (e) { /* no sound: fine */ }
  }

  function toast(title, detail, href) {
    var box = document.getElementById("toasts");
    if (!box) { return; }
    var el = document.createElement("div");
    el.className = "toast";
    el.setAttribute("role", "status");
    var strong = document.createElement("strong");
    strong.textContent = title;
    el.appendChild(strong);
    if (detail) {
      el.appendChild(document.createTextNode(" "));
      if (href) {
        var a = document.createElement("a");
        a.href = href; a.textContent = detail;
        el.appendChild(a);
      } else {
        el.appendChild(document.createTextNode(detail));
      }
    }
    box.appendChild(el);
    setTimeout(function () { el.remove(); }, 8000);
  }

  var refreshTimer = null;
  function refreshSoon() {
    if (!window.htmx) { return; }
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(function () { window.htmx.trigger(body, "console-refresh"); }, 250);
  }

  function concernsThisPage(push) {
    if (document.getElementById("inbox-results")) { return true; }
    var page = document.querySelector(".ticket-page[data-ticket-id]");
    return !!page && Number(page.dataset.ticketId) === Number(push.ticket_id);
  }

  function onTicketEvent(push) {
    if (concernsThisPage(push)) { refreshSoon(); }
    if (push.actor_agent_id && Number(push.actor_agent_id) === me) { return; }
    var label = KIND_LABELS[push.kind] || push.kind;
    if (push.kind === "status.changed" && push.status) { label += ": " + push.status; }
    var number = push.ticket_number ? "#" + push.ticket_number : "";
    toast(label, number, push.ticket_id ? "/console/tickets/" + Number(push.ticket_id) : null);
    beep();
  }

  // Presence: another agent opened a ticket; its page refreshes the "being processed by"
  // block (presence_routes.py) instead of showing a toast.
  function onPresence(push) {
    if (Number(push.agent_id) === me) { return; }
    var page = document.querySelector(".ticket-page[data-ticket-id]");
    if (page && Number(page.dataset.ticketId) === Number(push.ticket_id)) {
      body.dispatchEvent(new CustomEvent("console-presence"));
    }
  }

  function onCall(push) {
    var template = document.getElementById("call-template");
    if (!template) { return; }
    var old = document.querySelector(".call-popup");
    if (old) { old.remove(); }
    var popup = template.content.firstElementChild.cloneNode(true);
    var phone = String(push.from || "");
    var contact = push.contact || {};
    var company = push.company || {};
    popup.querySelector(".call-from").textContent = phone;
    popup.querySelector(".call-contact").textContent =
      contact.name || contact.display_name || contact.email || "Unknown caller";
    popup.querySelector(".call-company").textContent = company.name || "";
    var list = popup.querySelector(".call-tickets");
    (push.open_tickets || []).slice(0, 5).forEach(function (t) {
      var li = document.createElement("li"), a = document.createElement("a");
      a.href = "/console/tickets/" + Number(t.id);
      a.textContent = "#" + (t.number || t.id) + " " + (t.subject || "");
      li.appendChild(a); list.appendChild(li);
    });
    popup.querySelector(".call-new").href = "/console/new-ticket?" +
      new URLSearchParams({ phone: phone, account: String(push.channel_account || "") });
    popup.querySelector(".call-dismiss").addEventListener("click", function () { popup.remove(); });
    body.appendChild(popup);
    beep();
  }

  function pushUrl() {
    var configured = body.dataset.pushUrl;
    if (configured) { return configured; }
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/agents";
  }

  var delay = 1000;
  function connect() {
    if (!me) { return; }
    var state = document.getElementById("live-state");
    var socket;
    try { socket = new WebSocket(pushUrl()); } catch (e) { return; }
    socket.addEventListener("message", function (event) {
      var push;
      try { push = JSON.parse(event.data); } catch (e) { return; }
      if (!push || typeof push !== "object") { return; }
      if (push.kind === "hello") {
        delay = 1000;
        if (state) { state.textContent = "live"; state.classList.add("on"); }
        body.dataset.live = "on";
        return;
      }
      if (push.kind === "ping") { socket.send(JSON.stringify({ kind: "pong" })); return; }
      if (push.kind === "pong") { return; }
      if (push.kind === "call.ringing") { onCall(push); return; }
      if (push.kind === "ticket.presence") { onPresence(push); return; }
      if (push.ticket_id) { onTicketEvent(push); }
    });
    socket.addEventListener("close", function (event) {
      if (state) { state.textContent = "offline"; state.classList.remove("on"); }
      body.dataset.live = "off";
      if (event.code === 4401) { location.href = "/console/login"; return; }
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    paintCorners(document);
    tickCountdowns();
    setInterval(tickCountdowns, 30000);
    body.addEventListener("htmx:load", function (event) { paintCorners(event.detail.elt); });
    connect();
  });
})();
