// SkySlots web UI: Zulu/local times, the booking modal, the live roster (WebSocket, then
// polling), and the organizer's small helpers. Everything works without this file too.

const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];
const POLL_MS = 2000;
const TZ_KEY = "skyslots.tz";
const ICONS = {
  taken: '<svg class="ico" aria-hidden="true" viewBox="0 0 16 16"><path d="M8 8a3 3 0 100-6 3 3 0 000 6zm-5 6c0-2.8 2.2-4.5 5-4.5s5 1.7 5 4.5z"/></svg>',
  locked: '<svg class="ico" aria-hidden="true" viewBox="0 0 16 16"><path d="M4 7V5a4 4 0 118 0v2h1v8H3V7zm2 0h4V5a2 2 0 10-4 0z"/></svg>',
  free: '<svg class="ico" aria-hidden="true" viewBox="0 0 16 16"><circle cx="8" cy="8" r="5"/></svg>',
  held: '<svg class="ico" aria-hidden="true" viewBox="0 0 16 16"><path d="M8 1a7 7 0 110 14A7 7 0 018 1zm0 2a5 5 0 100 10A5 5 0 008 3zm1 1v4l3 2-1 1-4-2.5V4z"/></svg>',
};
const STATE_TEXT = { taken: "Taken", locked: "Locked", free: "Free", held: "Held" };
const STATES = ["free", "held", "taken", "locked"];

document.documentElement.classList.add("js");

function el(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text) node.textContent = text;
  return node;
}

function storage(key, value) {
  try {
    if (value === undefined) return localStorage.getItem(key);
    localStorage.setItem(key, value);
  } catch {
    return null; // private mode or storage disabled: the toggle still works for this page
  }
  return value;
}

/* ---------- Zulu / local time ---------- */

const LOCAL_FORMATS = {
  hm: { hour: "2-digit", minute: "2-digit", hourCycle: "h23" },
  date: { weekday: "short", day: "2-digit", month: "short", year: "numeric" },
  day: { weekday: "short", day: "2-digit", month: "short" },
  full: {
    weekday: "short", day: "2-digit", month: "short", year: "numeric",
    hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZoneName: "short",
  },
  stamp: {
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
    second: "2-digit", hourCycle: "h23", timeZoneName: "short",
  },
};

function applyTimeMode(root = document) {
  const mode = storage(TZ_KEY) === "local" ? "local" : "utc";
  for (const node of $$("time.t", root)) {
    if (!node.dataset.zulu) node.dataset.zulu = node.textContent;
    const format = LOCAL_FORMATS[node.dataset.style] || LOCAL_FORMATS.full;
    node.textContent = mode === "local"
      ? new Intl.DateTimeFormat(undefined, format).format(new Date(node.dateTime))
      : node.dataset.zulu;
  }
  for (const button of $$("[data-tz]")) {
    button.setAttribute("aria-pressed", String(button.dataset.tz === mode));
  }
  document.documentElement.dataset.tz = mode;
}

function setupTimeToggle() {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  for (const button of $$("[data-tz]")) {
    if (button.dataset.tz === "local") button.title = `Your time zone: ${zone}`;
    button.addEventListener("click", () => {
      storage(TZ_KEY, button.dataset.tz);
      applyTimeMode();
    });
  }
  applyTimeMode();
}

/* ---------- roster rendering ---------- */

function slotState(slot) {
  // web/grid.py slot_state: a hold or a waitlist offer shows as held until the server says free.
  if (slot.booking) return "taken";
  if (slot.status === "held") return "held";
  return slot.is_locked ? "locked" : "free";
}

function minutesLeft(ms) {
  // `4:12` (web/grid.py minutes_left formats it the same way).
  const total = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, "0")}`;
}

function tickHeld(root, clock) {
  // Each held slot's countdown; at zero it says "releasing…" until the sweep's message frees it.
  for (const node of $$("[data-expires]", root)) {
    const left = Date.parse(node.dataset.expires) - clock.now();
    node.textContent = left > 0 ? minutesLeft(left) : "releasing…";
    node.closest(".slot")?.classList.toggle("slot--releasing", left <= 0);
  }
}

const EVENT_FIELDS = ["status", "start_datetime", "end_datetime", "booking_opens_at", "booking_closes_at"];
const eventKey = (event) => EVENT_FIELDS.map((key) => {
  const value = event[key];
  return value && !Number.isNaN(Date.parse(value)) ? String(Date.parse(value)) : String(value);
}).join("|");

const sameTime = (a, b) => (a && b ? Date.parse(a) === Date.parse(b) : a === b);

const FLIGHT_FIELDS = ["origin_icao", "destination_icao", "aircraft_type", "route", "callsign"];

function sameShape(a, b) {
  return a.position_name === b.position_name && a.position_type === b.position_type
    && a.order_index === b.order_index && a.notes === b.notes
    && sameTime(a.start_time, b.start_time) && sameTime(a.end_time, b.end_time)
    && sameTime(a.slot_time, b.slot_time) && FLIGHT_FIELDS.every((key) => a[key] === b[key])
    && (a.min_rating ?? null) === (b.min_rating ?? null);
}

function renderSlot(node, slot, { bookable, eventId, pending = false, waitlist = false, clock = null }) {
  const state = slotState(slot);
  const changed = !node.classList.contains(`slot--${state}`);
  node.className = `slot slot--${state}`;
  const badge = el("span", { class: "slot__state" });
  badge.innerHTML = ICONS[state]; // constant markup, never user text
  badge.append(STATE_TEXT[state]);
  node.replaceChildren(badge);
  if (state === "taken") {
    const who = el("span", { class: "slot__who" });
    who.append(el("b", { class: "callsign" }, slot.booking.pilot_callsign), " ",
      el("span", { class: "slot__name" }, slot.booking.pilot_name));
    node.append(who);
  } else if (state === "held") {
    const hold = el("span", { class: "slot__hold" }, "held · ");
    hold.append(el("span", {
      class: "slot__clock", "data-expires": slot.expires_at, role: "timer", "aria-live": "off",
    }));
    node.append(hold);
    if (clock) tickHeld(node, clock);
  } else if (state === "free" && bookable && node.dataset.gate === "login") {
    // Rating rules (web/grid.py slot_gates): the server rendered who may take the slot.
    node.append(el("a", {
      class: "btn btn--claim btn--signin",
      href: `/login?next=${encodeURIComponent(`/events/${eventId}`)}`,
      "data-signin": String(slot.id),
      title: node.dataset.gateReason,
      "aria-label": `Sign in to book ${node.dataset.label}`,
    }, "Sign in to book"));
  } else if (state === "free" && bookable && node.dataset.gate === "rating") {
    node.append(el("button", {
      type: "button",
      class: "btn btn--claim",
      disabled: "",
      "data-claim-refused": String(slot.id),
      title: node.dataset.gateReason,
      "aria-label": `Claim ${node.dataset.label}: ${node.dataset.gateReason}`,
    }, "Claim"), el("span", { class: "slot__reason", "data-role": "gate-reason" }, node.dataset.gateShort));
  } else if (state === "free" && bookable) {
    node.append(el("a", {
      class: "btn btn--claim",
      href: `/events/${eventId}?claim=${slot.id}#book`,
      "data-claim": String(slot.id),
      "aria-label": `Claim ${node.dataset.label}`,
    }, "Claim"));
  } else if (state === "free" && pending) {
    node.append(el("button", {
      type: "button",
      class: "btn btn--claim",
      disabled: "",
      "data-claim-pending": String(slot.id),
      "aria-label": `Claim ${node.dataset.label} (booking is not open yet)`,
    }, "Claim"));
  }
  if (node.dataset.rating) {
    node.append(el("span", {
      class: "slot__rating",
      "data-role": "rating-badge",
      title: `Needs a controller rated ${node.dataset.rating.slice(0, -1)} or higher`,
    }, node.dataset.rating));
  }
  if (waitlist && bookable && !node.dataset.gate && (state === "taken" || state === "held")) {
    node.append(el("a", {
      class: "slot__wait",
      href: `/events/${eventId}?wait=${slot.id}#wait`,
      "data-wait": String(slot.id),
      "aria-label": `Join the waitlist for ${node.dataset.label}`,
    }, "Join waitlist"));
  }
  if (changed) {
    node.classList.add("slot--changed");
    setTimeout(() => node.classList.remove("slot--changed"), 1600);
  }
}

/* ---------- live roster: WebSocket first, polling when it is down ---------- */

class LiveRoster {
  constructor(page, clock) {
    this.eventId = page.dataset.eventId;
    this.clock = clock;
    this.container = $("#roster");
    this.indicator = $("#live");
    this.listeners = [];
    this.eventListeners = [];
    this.pending = false;
    this.ws = null;
    this.retries = 0;
    this.pollTimer = null;
    this.etag = null;
    this.refreshing = null;
    this.load();
    this.setState("connecting");
    this.connect();
    setInterval(() => tickHeld(this.container, this.clock), 1000);
  }

  renderOptions() {
    return {
      bookable: this.bookable, eventId: this.eventId, pending: this.pending,
      waitlist: this.event && this.event.waitlist_mode !== "off", clock: this.clock,
    };
  }

  load() {
    const data = JSON.parse($("#roster-data", this.container).textContent);
    this.version = Math.max(this.version || 0, data.version);
    this.slots = new Map(data.slots.map((slot) => [slot.id, slot]));
    this.bookable = $("#roster-body", this.container).dataset.bookable === "true";
    this.eventKey = eventKey(data.event);
    this.setEvent(data.event, data.now);
    tickHeld(this.container, this.clock);
  }

  onSlot(listener) {
    this.listeners.push(listener);
  }

  onEvent(listener) {
    this.eventListeners.push(listener);
  }

  setEvent(event, serverNow = null) {
    this.event = { ...this.event, ...event };
    for (const listener of this.eventListeners) listener(event, serverNow);
  }

  setClaims(bookable, pending) {
    // The booking window decides whether free slots show a Claim link, a disabled button, or
    // nothing; only the slots whose rendering differs are touched.
    this.bookable = bookable;
    this.pending = pending;
    const wanted = bookable ? "open" : pending ? "pending" : "none";
    for (const node of $$(".slot.slot--free", this.container)) {
      const shown = $("[data-claim]", node) ? "open" : $("[data-claim-pending]", node) ? "pending" : "none";
      const slot = this.slots.get(Number(node.dataset.slotId));
      if (slot && shown !== wanted) renderSlot(node, slot, this.renderOptions());
    }
  }

  setState(state) {
    const text = {
      connecting: "Connecting…", live: "Live", polling: "Live · polling",
      reconnecting: "Reconnecting…", ended: "Not live",
    }[state];
    this.indicator.dataset.state = state;
    $(".live__text", this.indicator).textContent = text;
    this.indicator.title = state === "polling"
      ? "Live updates by polling every few seconds (WebSocket unavailable)"
      : text;
  }

  connect() {
    if (!("WebSocket" in window)) {
      this.startPolling();
      return;
    }
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws/events/${this.eventId}`);
    this.ws = socket;
    socket.addEventListener("open", () => {
      this.retries = 0;
      this.stopPolling();
      this.setState("live");
    });
    socket.addEventListener("message", (message) => {
      try {
        this.handle(JSON.parse(message.data));
      } catch (error) {
        console.warn("skyslots: bad realtime message", error);
      }
    });
    socket.addEventListener("close", (closing) => {
      if (this.ws !== socket) return;
      this.ws = null;
      if (closing.code === 4404) {
        this.end(); // deleted or unpublished: nothing more will come, so stop asking
        return;
      }
      if (this.indicator.dataset.state !== "polling") this.setState("reconnecting");
      this.startPolling();
      const delay = Math.min(30000, 1000 * 2 ** this.retries++) * (0.5 + Math.random() / 2);
      setTimeout(() => this.connect(), delay);
    });
  }

  end() {
    this.ended = true;
    this.stopPolling();
    this.setState("ended");
  }

  startPolling() {
    if (this.pollTimer || this.ended) return;
    const tick = async () => {
      await this.poll();
      if (this.pollTimer) this.pollTimer = setTimeout(tick, POLL_MS);
    };
    this.pollTimer = setTimeout(tick, 0);
  }

  stopPolling() {
    clearTimeout(this.pollTimer);
    this.pollTimer = null;
  }

  async poll() {
    try {
      const headers = this.etag ? { "If-None-Match": this.etag } : {};
      const response = await fetch(`/api/events/${this.eventId}/state?since=${this.version}`,
        { headers, cache: "no-store" });
      if (response.status === 404) {
        this.end(); // the event was deleted or unpublished
        return;
      }
      if (response.status === 405) {
        await this.refreshFromApi(); // no state endpoint on this server: read the whole event
      } else if (response.status !== 304) {
        if (!response.ok) throw new Error(`state ${response.status}`);
        this.etag = response.headers.get("ETag");
        this.handle(await response.json());
      }
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) this.setState("polling");
    } catch {
      if (!this.ws) this.setState("reconnecting");
    }
  }

  async refreshFromApi() {
    const response = await fetch(`/api/events/${this.eventId}`, { cache: "no-store" });
    if (!response.ok) throw new Error(`event ${response.status}`);
    const event = await response.json();
    this.applySnapshot({ type: "snapshot", version: event.version, event, slots: event.slots });
  }

  resync() {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify({ type: "resync" }));
    } else {
      this.refreshFromApi().catch(() => {});
    }
  }

  inOrder(message) {
    if (typeof message.version !== "number") return true;
    if (message.version <= this.version) return false;
    if (message.version > this.version + 1) {
      this.resync();
      return false;
    }
    this.version = message.version;
    return true;
  }

  handle(message) {
    switch (message.type) {
      case "snapshot":
        this.applySnapshot(message);
        break;
      case "changes":
        for (const change of message.changes || []) this.handle(change);
        break;
      case "slot.updated":
        if (this.inOrder(message)) this.applySlot(message.slot);
        break;
      case "event.updated":
        if (this.inOrder(message)) {
          const title = $("[data-role=event-title]");
          if (title && message.event) title.textContent = message.event.title;
          if (message.event) this.setEvent(message.event);
          this.refreshFragment();
        }
        break;
      case "event.deleted":
        this.end();
        break;
      case "slots.added":
      case "slot.removed":
        if (this.inOrder(message)) this.refreshFragment();
        break;
      case "slots.updated":
        if (this.inOrder(message)) this.applySlots(message.slots || []);
        break;
      default:
        break; // ping, pong and types this page does not use
    }
  }

  applySnapshot(message) {
    const incoming = message.slots || [];
    const sameStructure = incoming.length === this.slots.size
      && incoming.every((slot) => this.slots.has(slot.id) && sameShape(this.slots.get(slot.id), slot));
    const eventChanged = message.event && eventKey(message.event) !== this.eventKey;
    this.version = message.version;
    if (message.event) this.setEvent(message.event);
    if (!sameStructure || eventChanged) {
      this.refreshFragment();
      return;
    }
    this.applySlots(incoming);
  }

  applySlots(slots) {
    // Many slots at once (a snapshot, a bulk lock): the counts are recomputed once.
    for (const slot of slots) this.applySlot(slot, { counts: false });
    this.updateCounts();
  }

  applySlot(slot, { counts = true } = {}) {
    const old = this.slots.get(slot.id);
    this.slots.set(slot.id, slot);
    if (!old || !sameShape(old, slot)) {
      this.refreshFragment();
      return;
    }
    const node = $(`.slot[data-slot-id="${slot.id}"]`, this.container);
    if (node && (slotState(old) !== slotState(slot) || !node.classList.contains(`slot--${slotState(slot)}`)
        || JSON.stringify(old.booking) !== JSON.stringify(slot.booking)
        || !sameTime(old.expires_at, slot.expires_at) || node.classList.contains("slot--releasing"))) {
      renderSlot(node, slot, this.renderOptions());
    }
    if (counts) this.updateCounts();
    for (const listener of this.listeners) listener(slot);
  }

  updateCounts() {
    const counts = Object.fromEntries(STATES.map((state) => [state, 0]));
    for (const slot of this.slots.values()) counts[slotState(slot)] += 1;
    const total = STATES.reduce((sum, state) => sum + counts[state], 0);
    for (const [state, n] of Object.entries(counts)) {
      const number = $(`[data-count="${state}"]`, this.container);
      if (number) number.textContent = String(n);
      const bar = $(`[data-meter="${state}"]`, this.container);
      if (bar) bar.style.width = `${total ? (100 * n) / total : 0}%`;
    }
  }

  refreshFragment() {
    if (this.refreshing) {
      this.refreshAgain = true;
      return;
    }
    this.refreshing = fetch(`/events/${this.eventId}/roster`, { cache: "no-store" })
      .then((response) => (response.ok ? response.text() : Promise.reject(response.status)))
      .then((html) => {
        const before = this.version;
        this.container.innerHTML = html;
        this.load();
        applyTimeMode(this.container);
        if (this.version < before) this.refreshAgain = true;
        for (const slot of this.slots.values()) for (const listener of this.listeners) listener(slot);
      })
      .catch(() => {})
      .finally(() => {
        this.refreshing = null;
        if (this.refreshAgain) {
          this.refreshAgain = false;
          this.refreshFragment();
        }
      });
  }

  releaseLocally(slotId, expiresAt) {
    // Our own hold given back: free at once, unless the slot moved on meanwhile.
    const slot = this.slots.get(slotId);
    if (slot && slot.status === "held" && Date.parse(slot.expires_at) === expiresAt) {
      this.applySlot({ ...slot, status: "free", expires_at: null });
    }
  }

  claimLocally(slotId, booking) {
    const slot = this.slots.get(slotId);
    if (slot && !slot.booking) this.applySlot({ ...slot, status: "taken", expires_at: null, booking });
  }
}

/* ---------- booking modal ---------- */

const FIELDS = ["pilot_name", "pilot_callsign", "email", "notes"];
const FOCUSABLE = "a[href], button:not([disabled]), input:not([disabled]), textarea, select, [tabindex]:not([tabindex='-1'])";

function trapFocus(dialog, event) {
  if (event.key !== "Tab") return;
  const items = $$(FOCUSABLE, dialog).filter((node) => node.offsetParent !== null);
  if (!items.length) return;
  const first = items[0];
  const last = items[items.length - 1];
  if (event.shiftKey && document.activeElement === first) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && document.activeElement === last) {
    event.preventDefault();
    first.focus();
  }
}

function showFieldErrors(form, errors, fields) {
  for (const node of $$("[data-error-for]", form)) {
    const message = errors[node.dataset.errorFor] || "";
    node.textContent = message;
    node.hidden = !message;
    const input = form.elements[node.dataset.errorFor];
    if (input && input.setAttribute) {
      if (message) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    }
  }
  const first = fields.find((name) => errors[name] && form.elements[name]);
  if (first) form.elements[first].focus();
}

function apiFieldErrors(body, fields) {
  // A 422's `detail` list as {field: message} (the first message per field).
  const errors = {};
  for (const item of body.detail) {
    const name = [...(item.loc || [])].reverse().find((part) => fields.includes(part));
    errors[name || "__all__"] ??= item.msg.replace(/^Value error, /, "");
  }
  return errors;
}

function checkPerson(form, data) {
  // The checks the name, callsign and email fields share in both modals. Signed in, the forms
  // have no name field: the server uses the account's name.
  const errors = {};
  if (!form.elements.pilot_name) {
    // nothing to check
  } else if (!data.pilot_name) errors.pilot_name = "Enter your name.";
  else if (data.pilot_name.length > 100) errors.pilot_name = "At most 100 characters.";
  if (!data.pilot_callsign) errors.pilot_callsign = "Enter your callsign.";
  else if (!/^[A-Z0-9]{3,10}$/.test(data.pilot_callsign)) {
    errors.pilot_callsign = "A callsign is 3 to 10 letters and digits, e.g. BAW123.";
  }
  if (data.email && !form.elements.email.checkValidity()) {
    errors.email = "Enter a valid email address, or leave it empty.";
  }
  return errors;
}

async function copyLink(dialog) {
  const input = $("[data-role=manage-url]", dialog);
  const button = $("[data-role=copy]", dialog);
  try {
    await navigator.clipboard.writeText(input.value);
  } catch {
    input.select();
    document.execCommand?.("copy");
  }
  button.textContent = "Copied";
  setTimeout(() => { button.textContent = "Copy"; }, 1500);
}

// Idempotency-Key per submission: a request whose answer never arrived (a network failure, a
// double click while it runs) is sent again with the same key, so the server runs it once.
const unansweredKeys = new Map();

function newIdempotencyKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function sessionHeaders() {
  // A signed-in page's CSRF token: with it the session cookie counts on the JSON API (a member's
  // booking is theirs); without a session there is no token and the call is anonymous.
  const token = document.querySelector('meta[name="csrf-token"]')?.content;
  return token ? { "X-CSRF-Token": token } : {};
}

async function postJson(url, body = null) {
  // {response, body}; a network failure is {response: null}.
  const payload = body === null ? undefined : JSON.stringify(body);
  const submission = `${url}\n${payload ?? ""}`;
  const key = unansweredKeys.get(submission) ?? newIdempotencyKey();
  unansweredKeys.set(submission, key);
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "Idempotency-Key": key,
        ...sessionHeaders(),
      },
      body: payload,
    });
    unansweredKeys.delete(submission);
    return { response, body: await response.json().catch(() => ({})) };
  } catch {
    return { response: null, body: {} };
  }
}

const OFFLINE = "Could not reach SkySlots. Check your connection and try again.";

class BookingModal {
  // The claim form; with the event's hold_seconds > 0 the slot is held first (POST
  // /api/slots/{id}/hold), the form shows the hold's countdown and the claim sends its token.
  constructor(dialog, roster, clock) {
    this.dialog = dialog;
    this.roster = roster;
    this.clock = clock;
    this.eventId = dialog.dataset.eventId;
    this.form = $("[data-role=book-form]", dialog);
    this.form.noValidate = true;
    this.conflict = $("[data-role=conflict]", dialog);
    this.submitButton = $("[data-role=submit]", dialog);
    this.holdClock = $("[data-role=hold-clock]", dialog);
    this.slotId = null;
    this.opener = null;
    this.hold = null; // {id, token, expiresAt} while this visitor holds the slot
    this.attempt = 0; // a hold request answered after the modal moved on is given back
    this.timer = null;

    roster.container.addEventListener("click", (event) => {
      const link = event.target.closest("[data-claim]");
      if (!link) return;
      event.preventDefault();
      this.open(Number(link.dataset.claim), link);
    });
    for (const close of $$("[data-role=close], [data-role=cancel], [data-role=done], [data-role=dismiss]", dialog)) {
      close.addEventListener("click", (event) => {
        event.preventDefault();
        this.dialog.close();
      });
    }
    $("[data-role=retry]", dialog).addEventListener("click", () => this.startHold());
    dialog.addEventListener("keydown", (event) => trapFocus(dialog, event));
    dialog.addEventListener("click", (event) => {
      if (event.target === dialog) dialog.close(); // a click on the backdrop
    });
    dialog.addEventListener("close", () => this.closed());
    window.addEventListener("pagehide", () => this.giveBack());
    this.form.addEventListener("submit", (event) => this.submit(event));
    $("[data-role=copy]", dialog).addEventListener("click", () => copyLink(dialog));
    roster.onSlot((slot) => this.watch(slot));

    if (dialog.open) this.upgradeServerForm();
  }

  upgradeServerForm() {
    // The page was rendered with the no-JavaScript form open (`?claim=`): show it as a modal.
    const match = this.form.action.match(/\/book\/(\d+)$/);
    this.dialog.close();
    if (match && Number(match[1]) > 0) this.open(Number(match[1]), null, { keep: true });
  }

  label(slotId) {
    const node = $(`.slot[data-slot-id="${slotId}"]`, this.roster.container);
    return node ? node.dataset.label : `slot ${slotId}`;
  }

  setView(view) {
    // form: the fields; holding: asking for the hold; refused: the hold's 409; expired.
    this.view = view;
    this.form.hidden = view !== "form";
    $("[data-role=holding]", this.dialog).hidden = view !== "holding";
    $("[data-role=hold]", this.dialog).hidden = view !== "form" || !this.hold;
    $("[data-role=hold-expired]", this.dialog).hidden = view !== "expired";
    $("[data-role=refused]", this.dialog).hidden = view !== "refused";
  }

  fixCallsign(slotId) {
    // A pilot slot's fixed callsign fills the field, read-only (the claim must use it).
    const fixed = this.roster.slots.get(slotId)?.callsign || "";
    const input = this.form.elements.pilot_callsign;
    if (fixed) input.value = fixed;
    else if (input.readOnly) input.value = "";
    input.readOnly = Boolean(fixed);
    $("[data-role=fixed-hint]", this.dialog).hidden = !fixed;
    $("#hint-callsign", this.dialog).hidden = Boolean(fixed);
  }

  open(slotId, opener, { keep = false } = {}) {
    this.slotId = slotId;
    this.opener = opener;
    this.claimed = false;
    this.usesHold = false;
    $("[data-role=slot-label]", this.dialog).textContent = this.label(slotId);
    this.form.action = `/events/${this.eventId}/book/${slotId}`;
    $("[data-role=form-view]", this.dialog).hidden = false;
    $("[data-role=success-view]", this.dialog).hidden = true;
    if (!keep) {
      this.conflict.hidden = true;
      this.showErrors({});
    }
    this.fixCallsign(slotId);
    this.busy(false);
    this.dialog.showModal();
    if (Number(this.roster.event?.hold_seconds) > 0) {
      this.startHold();
    } else {
      this.showForm();
    }
  }

  showForm() {
    this.setView("form");
    const firstInvalid = $("[aria-invalid=true]", this.form);
    const first = this.form.elements.pilot_name || this.form.elements.pilot_callsign;
    (firstInvalid || (first.readOnly ? this.submitButton : first)).focus();
  }

  async startHold() {
    const slotId = this.slotId;
    const attempt = ++this.attempt;
    this.usesHold = true;
    this.conflict.hidden = true;
    this.setView("holding");
    const { response, body } = await postJson(`/api/slots/${slotId}/hold`);
    const current = attempt === this.attempt && this.dialog.open && this.slotId === slotId;
    if (response && response.status === 201) {
      const hold = { id: body.hold_id, token: body.hold_token, expiresAt: Date.parse(body.expires_at) };
      if (!current) {
        this.release(hold); // the modal was closed meanwhile
        return;
      }
      this.hold = hold;
      this.showForm();
      this.tick();
      return;
    }
    if (!current) return;
    if (response && body.code === "holds_disabled") {
      this.usesHold = false; // the organizer turned holds off a moment ago: book directly
      this.showForm();
      return;
    }
    this.showConflict(response ? body.detail || `Could not hold the slot (HTTP ${response.status}).` : OFFLINE);
    this.setView("refused");
    $("[data-role=refused] button", this.dialog).focus();
    if (response && response.status === 409) this.roster.refreshFromApi().catch(() => {});
  }

  tick() {
    clearTimeout(this.timer);
    if (!this.hold) return;
    const left = this.hold.expiresAt - this.clock.now();
    if (left <= 0 && !this.submitButton.disabled) {
      this.expired();
      return;
    }
    this.holdClock.textContent = minutesLeft(left);
    this.timer = setTimeout(() => this.tick(), left % 1000 || 1000);
  }

  expired() {
    this.hold = null;
    this.conflict.hidden = true;
    $("[data-role=hold-expired-text]", this.dialog).textContent = `Your hold on ${this.label(this.slotId)} ran out and the slot was let go. Try again to hold it anew.`;
    this.setView("expired");
    $("[data-role=retry]", this.dialog).focus();
  }

  release(hold) {
    // Give a hold back (Cancel, Esc, the backdrop, leaving the page): the slot is free at once.
    return fetch(`/api/holds/${hold.id}`, {
      method: "DELETE", headers: { "X-Hold-Token": hold.token, ...sessionHeaders() }, keepalive: true,
    }).then((response) => response.ok).catch(() => false);
  }

  giveBack() {
    // The hold this modal still keeps, if any, given back; answers still on their way too.
    clearTimeout(this.timer);
    this.attempt += 1;
    const hold = this.hold && !this.claimed ? this.hold : null;
    this.hold = null;
    return hold ? this.release(hold).then((ok) => ok && hold) : Promise.resolve(null);
  }

  refocus(slotId) {
    // Back to the Claim link that opened the modal (re-rendered while the slot was held).
    const link = this.opener && document.contains(this.opener)
      ? this.opener : $(`[data-claim="${slotId}"]`, this.roster.container);
    if (link) link.focus();
    else $("#roster").focus?.();
  }

  closed() {
    const slotId = this.slotId;
    this.slotId = null;
    this.refocus(slotId);
    this.giveBack().then((hold) => {
      if (!hold) return;
      this.roster.releaseLocally(slotId, hold.expiresAt);
      const away = document.activeElement;
      if (!this.dialog.open && (!away || away === document.body || away.id === "roster")) this.refocus(slotId);
    });
  }

  watch(slot) {
    // Someone else took the slot while this visitor was filling the form: say so at once.
    if (slot.id !== this.slotId || this.claimed || !this.dialog.open) return;
    if (this.submitButton.disabled) return; // our own claim in flight: its answer decides
    if (slot.booking) {
      this.showConflict(`${this.label(slot.id)} was just claimed by ${slot.booking.pilot_callsign}.`);
    } else if (slot.status === "held" && !this.usesHold) {
      this.showConflict(`${this.label(slot.id)} is being held for someone else just now.`);
    }
  }

  values() {
    const data = {};
    for (const name of FIELDS) {
      if (this.form.elements[name]) data[name] = this.form.elements[name].value.trim();
    }
    data.pilot_callsign = data.pilot_callsign.toUpperCase();
    return data;
  }

  validate(data) {
    const errors = checkPerson(this.form, data);
    if (data.notes.length > 500) errors.notes = "At most 500 characters.";
    return errors;
  }

  showErrors(errors) {
    showFieldErrors(this.form, errors, FIELDS);
  }

  showConflict(text) {
    this.conflict.textContent = text;
    this.conflict.hidden = false;
  }

  closedWhileOpen(text) {
    // Booking closed with the form open: say so now rather than after a refused submit.
    if (this.dialog.open && !this.claimed) this.showConflict(text);
  }

  busy(on) {
    this.submitButton.disabled = on;
    this.submitButton.textContent = on ? "Claiming…" : "Claim slot";
  }

  async submit(event) {
    event.preventDefault();
    const data = this.values();
    const errors = this.validate(data);
    this.showErrors(errors);
    if (Object.keys(errors).length) return;
    const slotId = this.slotId;
    this.busy(true);
    this.conflict.hidden = true;
    const claim = { ...data, email: data.email || null };
    if (this.hold) claim.hold_token = this.hold.token;
    const { response, body } = await postJson(`/api/slots/${slotId}/book`, claim);
    this.busy(false);
    if (!response) {
      this.showConflict(OFFLINE);
    } else if (response.status === 201) {
      this.hold = null; // the hold became the booking
      clearTimeout(this.timer);
      this.succeeded(body);
    } else if (response.status === 422 && Array.isArray(body.detail)) {
      const fieldErrors = apiFieldErrors(body, FIELDS);
      this.showErrors(fieldErrors);
      if (fieldErrors.__all__) this.showConflict(fieldErrors.__all__);
    } else if (response.status === 409) {
      this.showConflict(body.detail || "That slot is no longer available.");
      this.conflict.focus?.();
      this.roster.refreshFromApi().catch(() => {});
    } else {
      this.showConflict(body.detail || `Something went wrong (HTTP ${response.status}). Try again.`);
    }
    if (this.hold) this.tick(); // a hold that ran out during the request says so now
  }

  succeeded(booking) {
    this.claimed = true;
    const url = `${location.origin}/bookings/${booking.id}/manage?token=${encodeURIComponent(booking.manage_token)}`;
    $("[data-role=success-text]", this.dialog).textContent = `${booking.pilot_callsign} holds ${this.label(booking.slot_id)}.`;
    $("[data-role=manage-url]", this.dialog).value = url;
    $("[data-role=manage-link]", this.dialog).href = url;
    const calendar = `/api/bookings/${booking.id}/calendar.ics?token=${encodeURIComponent(booking.manage_token)}`;
    $("[data-role=booking-calendar]", this.dialog).href = calendar;
    $("[data-role=booking-webcal]", this.dialog).href = `webcal://${location.host}${calendar}`;
    $("[data-role=booking-calendar-links]", this.dialog).hidden = false;
    $("[data-role=form-view]", this.dialog).hidden = true;
    $("[data-role=success-view]", this.dialog).hidden = false;
    $("[data-role=success-title]", this.dialog).focus();
    this.form.reset();
    this.roster.claimLocally(booking.slot_id, {
      id: booking.id, pilot_callsign: booking.pilot_callsign, pilot_name: booking.pilot_name,
      status: booking.status, claimed_at: booking.claimed_at,
    });
  }
}

/* ---------- waitlist modal ---------- */

const WAIT_FIELDS = ["pilot_name", "pilot_callsign", "email", "position_type"];

class WaitlistModal {
  // Join a waitlist for one slot (`data-wait="<id>"`) or any slot (`data-wait="any"`, with a
  // position type to choose): POST /api/events/{id}/waitlist, then the place and the link.
  constructor(roster) {
    this.roster = roster;
    this.dialog = null;
    this.opener = null;
    roster.container.addEventListener("click", (event) => {
      const link = event.target.closest("[data-wait]");
      if (!link) return;
      event.preventDefault();
      this.open(link.dataset.wait, link);
    });
    const rendered = $("#wait");
    if (rendered && rendered.open) {
      // The no-JavaScript form (`?wait=`) was rendered open: show it as a modal.
      this.mount(rendered);
      const slotId = this.form.elements.slot_id.value;
      rendered.close();
      this.open(slotId || "any", null, { keep: true });
    }
  }

  mount(dialog = null) {
    // The dialog stays a <template> until first used, so the page holds one form at a time.
    if (this.dialog) return;
    if (!dialog) {
      const template = $("#wait-template");
      template.after(template.content.cloneNode(true));
      dialog = $("#wait");
    }
    this.dialog = dialog;
    this.eventId = dialog.dataset.eventId;
    this.form = $("[data-role=wait-form]", dialog);
    this.form.noValidate = true;
    this.conflict = $("[data-role=conflict]", dialog);
    this.submitButton = $("[data-role=submit]", dialog);
    for (const close of $$("[data-role=close], [data-role=cancel], [data-role=done]", dialog)) {
      close.addEventListener("click", (event) => {
        event.preventDefault();
        this.dialog.close();
      });
    }
    dialog.addEventListener("keydown", (event) => trapFocus(dialog, event));
    dialog.addEventListener("click", (event) => {
      if (event.target === dialog) dialog.close();
    });
    dialog.addEventListener("close", () => {
      if (this.opener && document.contains(this.opener)) this.opener.focus();
    });
    this.form.addEventListener("submit", (event) => this.submit(event));
    $("[data-role=copy]", dialog).addEventListener("click", () => copyLink(dialog));
  }

  label(target) {
    if (target === "any") return "Any slot";
    const node = $(`.slot[data-slot-id="${target}"]`, this.roster.container);
    return node ? node.dataset.label : `slot ${target}`;
  }

  open(target, opener, { keep = false } = {}) {
    this.mount();
    this.opener = opener;
    this.target = target;
    const slot = target !== "any";
    const title = $("[data-role=wait-label]", this.dialog);
    title.textContent = this.label(target);
    title.classList.toggle("callsign", slot);
    $("[data-role=wait-what]", this.dialog).textContent = slot ? "this slot" : "a matching slot";
    this.form.elements.slot_id.value = slot ? target : "";
    $("[data-role=wait-type-field]", this.dialog).hidden = slot;
    $("[data-role=form-view]", this.dialog).hidden = false;
    $("[data-role=success-view]", this.dialog).hidden = true;
    if (!keep) {
      this.conflict.hidden = true;
      showFieldErrors(this.form, {}, WAIT_FIELDS);
    }
    this.dialog.showModal();
    const firstInvalid = $("[aria-invalid=true]", this.form);
    (firstInvalid || this.form.elements.pilot_name || this.form.elements.pilot_callsign).focus();
  }

  async submit(event) {
    event.preventDefault();
    const elements = this.form.elements;
    const data = {
      pilot_callsign: elements.pilot_callsign.value.trim().toUpperCase(),
      email: elements.email.value.trim(),
    };
    if (elements.pilot_name) data.pilot_name = elements.pilot_name.value.trim();
    const errors = checkPerson(this.form, data);
    showFieldErrors(this.form, errors, WAIT_FIELDS);
    if (Object.keys(errors).length) return;
    const body = { ...data, email: data.email || null };
    if (this.target !== "any") body.slot_id = Number(this.target);
    else if (elements.position_type.value) body.position_type = elements.position_type.value;
    this.conflict.hidden = true;
    this.submitButton.disabled = true;
    const { response, body: answer } = await postJson(`/api/events/${this.eventId}/waitlist`, body);
    this.submitButton.disabled = false;
    if (!response) {
      this.showConflict(OFFLINE);
    } else if (response.status === 201) {
      this.joined(answer, data.pilot_callsign);
    } else if (response.status === 422 && Array.isArray(answer.detail)) {
      const fieldErrors = apiFieldErrors(answer, WAIT_FIELDS);
      showFieldErrors(this.form, fieldErrors, WAIT_FIELDS);
      if (fieldErrors.__all__) this.showConflict(fieldErrors.__all__);
    } else {
      this.showConflict(answer.detail || `Something went wrong (HTTP ${response.status}). Try again.`);
    }
  }

  showConflict(text) {
    this.conflict.textContent = text;
    this.conflict.hidden = false;
    this.conflict.focus?.();
  }

  joined(entry, callsign) {
    const url = `${location.origin}/waitlist/${entry.id}?token=${encodeURIComponent(entry.manage_token)}`;
    const what = this.target === "any"
      ? $("option:checked", this.form.elements.position_type)?.textContent || "Any slot"
      : this.label(this.target);
    $("[data-role=wait-position]", this.dialog).textContent = String(entry.position);
    $("[data-role=success-text]", this.dialog).textContent = `${callsign} waits for ${what.replace(/^Any/, "any")}.`;
    $("[data-role=manage-url]", this.dialog).value = url;
    $("[data-role=manage-link]", this.dialog).href = url;
    $("[data-role=form-view]", this.dialog).hidden = true;
    $("[data-role=success-view]", this.dialog).hidden = false;
    $("[data-role=success-title]", this.dialog).focus();
    this.form.reset();
  }
}

/* ---------- waitlist manage page: the offer's countdown ---------- */

function setupOfferCountdown() {
  const page = $("#waitlist-page");
  const node = page && $("[data-role=offer-clock]", page);
  if (!node) return;
  const clock = new ServerClock(page.dataset.serverNow);
  const tick = () => {
    const left = Date.parse(node.dataset.expires) - clock.now();
    node.textContent = minutesLeft(left);
    if (left > 0) {
      setTimeout(tick, left % 1000 || 1000);
      return;
    }
    $("[data-role=offer-expired]", page).hidden = false;
    $("[data-role=offer-actions]", page).hidden = true;
  };
  tick();
}

/* ---------- booking window: countdown to opening, closing, on the server's clock ---------- */

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
// The hero's summary of each state (web/window.py has the same labels).
const WINDOW_BADGES = {
  open: "Booking open", upcoming: "Booking not open yet", closed: "Booking closed",
  cancelled: "Booking closed", unpublished: "Not published",
};
const pad = (n) => String(n).padStart(2, "0");

function zuluFull(ms) {
  const d = new Date(ms);
  return `${DAYS[d.getUTCDay()]} ${pad(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} `
    + `${d.getUTCFullYear()} ${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}z`;
}

function timeNode(ms) {
  return el("time", { class: "t", datetime: new Date(ms).toISOString(), "data-style": "full" },
    zuluFull(ms));
}

function countdownText(ms) {
  // `2d 03:14:05`, or `03:14:05` under a day (web/window.py formats it the same way).
  const total = Math.max(0, Math.ceil(ms / 1000));
  const days = Math.floor(total / 86400);
  const rest = total % 86400;
  const clock = `${pad(Math.floor(rest / 3600))}:${pad(Math.floor((rest % 3600) / 60))}:${pad(rest % 60)}`;
  return days ? `${days}d ${clock}` : clock;
}

const parseTime = (value) => (value ? Date.parse(value) : null);

class ServerClock {
  // The server's time, from the `now` the page was rendered with plus the monotonic time since
  // the response arrived: neither a wrong client clock nor one changed while the page is open
  // moves it. It lags the server by the time the response took to arrive: never early.
  constructor(serverNow) {
    const navigation = performance.getEntriesByType?.("navigation")?.[0];
    this.mark = navigation && navigation.responseStart > 0 ? navigation.responseStart : performance.now();
    this.base = Date.parse(serverNow);
    this.startDriftCheck();
  }

  now() {
    return this.base + (performance.now() - this.mark);
  }

  sync(serverNow) {
    // A later reading (a roster fragment's `now`) is a lower bound too: keep whichever is later.
    const base = Date.parse(serverNow);
    if (base > this.now()) {
      this.base = base;
      this.mark = performance.now();
    }
    this.startDriftCheck();
  }

  startDriftCheck() {
    this.wallAt = Date.now();
    this.monotonicAt = performance.now();
  }

  drifted() {
    // The monotonic clock stops while the computer sleeps; the wall clock runs on (or was set).
    // Either way the server must be asked again; true once per drift.
    const drift = (Date.now() - this.wallAt) - (performance.now() - this.monotonicAt);
    if (Math.abs(drift) < 2000) return false;
    this.startDriftCheck();
    return true;
  }
}

class BookingWindow {
  constructor(panel, roster, modal, clock) {
    this.panel = panel;
    this.roster = roster;
    this.modal = modal;
    this.stateText = $("[data-role=window-state]", panel);
    this.timer = $("[data-role=window-countdown]", panel);
    this.clockText = $("[data-role=countdown]", panel);
    this.badge = $("[data-role=window-badge]");
    this.clock = clock;
    this.timeout = null;
    this.shown = null;
    roster.onEvent((event, serverNow) => {
      if (serverNow) this.clock.sync(serverNow);
      this.setEvent(event);
    });
    document.addEventListener("visibilitychange", () => this.update());
    this.setEvent(roster.event, { rendered: panel.dataset.state });
  }

  setEvent(event, { rendered = null } = {}) {
    this.status = event.status;
    this.opensAt = parseTime(event.booking_opens_at);
    this.closesAt = parseTime(event.booking_closes_at) ?? parseTime(event.end_datetime);
    if (rendered) this.shown = this.key(rendered); // the server's sentence is already there
    this.claims = null; // a fresh roster fragment may show other Claim controls: check them
    this.update();
  }

  state(now) {
    // The booking core's rule (bookings/service.py ensure_bookable), on the server's clock.
    if (this.status === "cancelled") return "cancelled";
    if (this.status !== "published") return "unpublished";
    if (this.opensAt !== null && now < this.opensAt) return "upcoming";
    return now >= this.closesAt ? "closed" : "open";
  }

  key(state) {
    return [state, this.opensAt, this.closesAt].join("|");
  }

  update() {
    clearTimeout(this.timeout);
    const now = this.clock.now();
    const state = this.state(now);
    if ((state === "upcoming" || state === "open") && this.clock.drifted()) {
      this.roster.refreshFragment(); // after a sleep: its `now` puts the clock right (sync)
    }
    if (this.key(state) !== this.shown) this.render(state);
    const claims = state === "open" || state === "upcoming" ? state : "none";
    if (claims !== this.claims) {
      this.claims = claims;
      this.roster.setClaims(state === "open", state === "upcoming");
    }
    if (state === "upcoming") {
      const left = this.opensAt - now;
      this.clockText.textContent = countdownText(left);
      // Wake on each whole second left, so the last wake-up is the moment of opening.
      this.timeout = setTimeout(() => this.update(), left % 1000 || 1000);
    } else if (state === "open") {
      this.timeout = setTimeout(() => this.update(), Math.min(this.closesAt - now, 60000));
    }
  }

  sentence(state) {
    switch (state) {
      case "upcoming":
        return ["Booking is not open yet. It opens at ", timeNode(this.opensAt), "."];
      case "open":
        return ["Booking is open until ", timeNode(this.closesAt), "."];
      case "closed":
        return ["Booking closed at ", timeNode(this.closesAt), "."];
      case "cancelled":
        return ["Booking closed: this event was cancelled."];
      default:
        return ["Not published yet: booking opens once the event is published."];
    }
  }

  render(state) {
    const wasOpen = this.shown !== null && this.shown.startsWith("open|");
    this.shown = this.key(state);
    this.panel.classList.remove(...[...this.panel.classList].filter((c) => c.startsWith("window--")));
    this.panel.classList.add(`window--${state}`);
    this.panel.dataset.state = state;
    // The polite status region changes only here, on a change of state: the ticking timer
    // beside it is aria-live="off", so screen readers are not told every second.
    this.stateText.replaceChildren(...this.sentence(state));
    applyTimeMode(this.stateText);
    this.timer.hidden = state !== "upcoming";
    if (this.badge) {
      this.badge.className = `meta--${state}`;
      this.badge.textContent = WINDOW_BADGES[state];
    }
    if (wasOpen && state !== "open") this.modal.closedWhileOpen(this.stateText.textContent);
  }
}

/* ---------- organizer helpers ---------- */

function setupConfirmations() {
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.dataset.confirm)) event.preventDefault();
  });
}

function setupCopyButtons() {
  // "Copy" next to a value shown once (a new API token).
  for (const button of $$("[data-copy]")) {
    button.addEventListener("click", async () => {
      const input = $(button.dataset.copy);
      try {
        await navigator.clipboard.writeText(input.value);
      } catch {
        input.select();
        document.execCommand?.("copy");
      }
      button.textContent = "Copied";
    });
  }
}

function setupSelectAll() {
  // A header checkbox ticks or clears every box of its name (the organizer's bulk lock).
  for (const all of $$("[data-select-all]")) {
    const boxes = () => $$(`input[type=checkbox][name="${all.dataset.selectAll}"]`);
    all.addEventListener("change", () => {
      for (const box of boxes()) box.checked = all.checked;
    });
    document.addEventListener("change", (event) => {
      if (event.target.name !== all.dataset.selectAll) return;
      const ticked = boxes().filter((box) => box.checked).length;
      all.checked = ticked === boxes().length;
      all.indeterminate = ticked > 0 && !all.checked;
    });
  }
}

function setupAirportLookup() {
  const input = $("[data-airport-lookup]");
  if (!input) return;
  const hint = $("[data-role=airport-name]");
  const timezone = $("#timezone");
  let autoFilled = !timezone.value;
  timezone.addEventListener("input", () => { autoFilled = false; });
  const lookup = async () => {
    const icao = input.value.trim().toUpperCase();
    if (!/^[A-Z]{4}$/.test(icao)) return;
    const response = await fetch(`/api/airports/${icao}`).catch(() => null);
    if (!response || !response.ok) {
      hint.textContent = `${icao} is not in the airport list: give its IANA timezone.`;
      return;
    }
    const airport = await response.json();
    hint.textContent = `${airport.name}, ${airport.city} (${airport.country})`;
    if (autoFilled || !timezone.value) {
      timezone.value = airport.timezone;
      autoFilled = true;
    }
  };
  input.addEventListener("input", lookup);
  input.addEventListener("change", lookup);
}

/* ---------- start ---------- */

setupTimeToggle();
setupConfirmations();
setupAirportLookup();
setupSelectAll();
setupCopyButtons();
setupOfferCountdown();
const page = $("#event-page");
if (page) {
  // One server clock for the page: the booking window, the holds' and offers' countdowns.
  const clock = new ServerClock($("#booking-window").dataset.serverNow);
  const roster = new LiveRoster(page, clock);
  const modal = new BookingModal($("#book"), roster, clock);
  const waitlist = new WaitlistModal(roster);
  const bookingWindow = new BookingWindow($("#booking-window"), roster, modal, clock);
  window.skyslots = { roster, bookingWindow, modal, waitlist };
}
