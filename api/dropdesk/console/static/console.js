/*! DropDesk agent console. The server renders every page; this script only keeps them live:
 * it listens on a WebSocket and, when something changed, fetches the part of the page that
 * changed (the queue table, new timeline items, the session's panels) and swaps it in. */
(() => {
  "use strict";
  const body = document.body;
  const liveState = document.querySelector("[data-live-state]");
  const T = { on: "实时更新中", off: "连接中断，正在重连…" };
  const QUEUE_REFRESH_MS = 30000;

  // --- conveniences (delegated: swapped parts keep working) ---------------------------------
  document.addEventListener("click", (event) => {
    const chip = event.target.closest("[data-fill]");
    if (!chip) return;
    const box = document.getElementById(chip.dataset.target);
    if (!box) return;
    box.value = chip.dataset.fill;
    box.focus();
    box.setSelectionRange(box.value.length, box.value.length);
  });
  document.addEventListener("keydown", (event) => {
    // Ctrl+Enter (Cmd+Enter) sends the form of the box being typed in.
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey) || event.isComposing) return;
    const box = event.target.closest && event.target.closest("textarea");
    if (box && box.form) {
      event.preventDefault();
      box.form.requestSubmit();
    }
  });
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.dataset.sent) event.preventDefault(); // no double submit
    form.dataset.sent = "1";
  });
  window.addEventListener("pageshow", () => {
    document.querySelectorAll("form[data-sent]").forEach((f) => delete f.dataset.sent);
  });

  const timeline = document.getElementById("timeline");
  const toBottom = () => { if (timeline) timeline.scrollTop = timeline.scrollHeight; };
  toBottom();

  // --- fetching parts ------------------------------------------------------------------------
  async function get(url) {
    const response = await fetch(url, {
      credentials: "same-origin",
      headers: { Accept: "text/html", "X-Console-Part": "1" },
    });
    if (response.status === 401) {
      location.href = "/console/login?next=" + encodeURIComponent(location.pathname);
      throw new Error("signed out");
    }
    if (!response.ok) throw new Error("HTTP " + response.status);
    return response.text();
  }

  function parse(html) {
    const template = document.createElement("template");
    template.innerHTML = html;
    return template.content;
  }

  // One fetch at a time; events during it ask for exactly one more.
  function coalesce(work) {
    let running = false, again = false;
    const run = async () => {
      if (running) { again = true; return; }
      running = true;
      try { await work(); } catch (e) { /* the next event or reconnect retries */ }
      running = false;
      if (again) { again = false; run(); }
    };
    return run;
  }

  const refreshQueue = coalesce(async () => {
    const fresh = parse(await get(body.dataset.rows)).querySelector("#queue-list");
    const current = document.getElementById("queue-list");
    if (!fresh || !current) return;
    const row = document.activeElement && document.activeElement.closest("tr[data-session]");
    current.replaceWith(fresh);
    if (row) {
      const again = fresh.querySelector(`tr[data-session="${CSS.escape(row.dataset.session)}"] a, tr[data-session="${CSS.escape(row.dataset.session)}"] button`);
      if (again) again.focus();
    }
  });

  const maxId = (attr) => Math.max(0, ...Array.from(timeline.querySelectorAll(`[${attr}]`), (n) => Number(n.getAttribute(attr))));

  const refreshFeed = coalesce(async () => {
    const url = `${body.dataset.feed}?after=${maxId("data-message")}&notes_after=${maxId("data-note")}`;
    const atBottom = timeline.scrollHeight - timeline.scrollTop - timeline.clientHeight < 80;
    let added = 0;
    for (const item of Array.from(parse(await get(url)).children)) {
      const key = item.hasAttribute("data-note") ? `[data-note="${item.dataset.note}"]` : `[data-message="${item.dataset.message}"]`;
      if (timeline.querySelector(key)) continue;
      timeline.append(item);
      added += 1;
    }
    if (added && atBottom) toBottom();
  });

  // The session's panels (state, actions, composer, ticket, evidence) after a change of hands;
  // what the agent was typing survives the swap.
  const refreshParts = coalesce(async () => {
    const doc = new DOMParser().parseFromString(await get(body.dataset.page), "text/html");
    document.querySelectorAll("[data-swap][id]").forEach((old) => {
      const fresh = doc.getElementById(old.id);
      if (!fresh || fresh.innerHTML === old.innerHTML) return; // unchanged: leave it be
      const typed = {};
      old.querySelectorAll("textarea[id], input[id]:not([type=hidden])").forEach((f) => { typed[f.id] = f.value; });
      const open = Array.from(old.querySelectorAll("details"), (d) => d.open);
      const focused = old.contains(document.activeElement) ? document.activeElement : null;
      const adopted = document.importNode(fresh, true);
      old.replaceWith(adopted);
      Object.entries(typed).forEach(([id, value]) => {
        const field = adopted.querySelector("#" + CSS.escape(id));
        if (field && value) field.value = value;
      });
      adopted.querySelectorAll("details").forEach((d, i) => { if (open[i]) d.open = true; });
      const again = focused && focused.id && adopted.querySelector("#" + CSS.escape(focused.id));
      if (again) again.focus();
    });
  });

  // --- the live socket ------------------------------------------------------------------------
  const onQueuePage = Boolean(body.dataset.rows);
  function handle(event) {
    if (onQueuePage) {
      if (event.type === "ready" || event.type === "queue") refreshQueue();
    } else if (timeline) {
      if (event.type === "ready" || event.type === "status") { refreshFeed(); refreshParts(); }
      else if (event.type === "message" || event.type === "note") refreshFeed();
    }
  }

  function state(on) {
    if (!liveState) return;
    liveState.textContent = on ? T.on : T.off;
    liveState.classList.toggle("on", on);
    liveState.classList.toggle("off", !on);
  }

  let attempt = 0, beat = 0, pongAt = 0;
  function connect() {
    if (!body.dataset.live) return;
    const url = new URL(body.dataset.live, location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const sock = new WebSocket(url.href);
    sock.onmessage = (message) => {
      let event;
      try { event = JSON.parse(message.data); } catch (e) { return; }
      if (!event || typeof event.type !== "string") return;
      if (event.type === "pong") { pongAt = Date.now(); return; }
      if (event.type === "ready") {
        attempt = 0;
        state(true);
        heartbeat(sock);
      }
      handle(event);
    };
    sock.onclose = (event) => {
      clearInterval(beat);
      state(false);
      if (event.code === 4401) {
        location.href = "/console/login?next=" + encodeURIComponent(location.pathname);
        return;
      }
      // Back off 1 s, 2 s … 30 s; a restarting server closes with 1012 and is back soon.
      attempt += 1;
      setTimeout(connect, Math.min(30000, 500 * 2 ** attempt));
    };
  }

  function heartbeat(sock) {
    clearInterval(beat);
    pongAt = Date.now();
    beat = setInterval(() => {
      // A silent network drop never fires onclose in time: no pong for 60 s means dead.
      if (Date.now() - pongAt > 60000) { sock.close(); return; }
      if (sock.readyState === 1) sock.send('{"type":"ping"}');
    }, 25000);
  }

  connect();
  if (onQueuePage) {
    // Waiting times and SLAs move even when nothing happens; a hidden tab catches up on return.
    setInterval(() => { if (!document.hidden) refreshQueue(); }, QUEUE_REFRESH_MS);
    document.addEventListener("visibilitychange", () => { if (!document.hidden) refreshQueue(); });
  }
})();
