/*! DropDesk support widget. Embed: <script src="https://…/widget.js" data-token="…" defer></script>
 * Dependency-free; renders in its own shadow root; messages arrive over a per-session WebSocket
 * and are deduplicated by id; sending goes through the chat API. */
(() => {
  "use strict";
  const script = document.currentScript || document.querySelector("script[data-token][src*='widget.js']");
  if (!script || window.DropDesk) return;
  const token = script.getAttribute("data-token") || "";
  const origin = new URL(script.src, location.href).origin;
  const IMAGE_TYPES = ["image/jpeg", "image/png", "image/webp"];
  const WHO = { merchant: "我", bot: "掉单助手", agent: "人工客服", system: "系统消息" };
  const MODE = { agent: "人工客服", queued: "等待人工客服" }; // the header hint per session status
  const T = {
    sending: "发送中…", sent: "已发送", failed: "发送失败", retry: "重试",
    connecting: "连接中…", online: "在线", offline: "连接中断，正在重连…",
    expired: "登录已失效，请刷新页面后再试。", origin: "此网站未被允许使用在线客服。",
    network: "网络不太稳定，消息没有发出去，请点“重试”。", busy: "服务暂时繁忙，请稍后点“重试”。",
    tooLong: (n) => `消息太长了，请控制在 ${n} 个字以内，分几条发送也可以。`,
    badType: "只能发送 JPG、PNG 或 WebP 格式的图片（签购单照片或截图）。",
    tooBig: (mb) => `图片太大了，请上传不超过 ${mb} MB 的图片。`,
    photo: "我发送的图片", unread: (n) => `打开在线客服（${n} 条新消息）`,
    bind: "绑定微信", binding: "获取中…", bindTitle: "微信绑定码", bindAgain: "重新获取",
    bindHow: (code, min, until) => `在公众号里发送“绑定 ${code}”，${min} 分钟内有效（${until} 前）。`,
    bindExpired: "绑定码已过期，请点“重新获取”。", bindOff: "微信绑定暂未开通。",
  };
  let limits = { message_chars: 500, upload_bytes: 5 * 1024 * 1024 };

  // One conversation per merchant and browser: the key is the token's merchant, not the token.
  const storeKey = "dropdesk:v1:session:" + merchantOf(token);
  const store = {
    get: () => { try { return localStorage.getItem(storeKey); } catch (e) { return null; } },
    set: (v) => { try { localStorage.setItem(storeKey, v); } catch (e) { /* private mode */ } },
    clear: () => { try { localStorage.removeItem(storeKey); } catch (e) { /* private mode */ } },
  };
  const openKey = storeKey + ":open";

  const host = document.createElement("div");
  host.id = "dropdesk-widget";
  const root = host.attachShadow({ mode: "open" });
  const CSS = `
:host{all:initial}*{box-sizing:border-box}
.w{font:15px/1.55 system-ui,-apple-system,"PingFang SC","Hiragino Sans GB","Microsoft YaHei","WenQuanYi Micro Hei",sans-serif;color:#1f2933}
button,textarea{font:inherit;color:inherit}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
:focus-visible{outline:3px solid #f0b429;outline-offset:2px}
.launch{position:fixed;right:20px;bottom:20px;z-index:2147483000;display:flex;align-items:center;gap:8px;border:0;border-radius:28px;padding:12px 18px;background:#0b5cad;color:#fff;font-size:16px;cursor:pointer;box-shadow:0 6px 20px rgba(0,0,0,.25)}
.launch svg{width:22px;height:22px;fill:currentColor}
.badge{min-width:20px;padding:0 6px;border-radius:10px;background:#e12d39;font-size:12px;line-height:20px;text-align:center}
.badge:empty{display:none}
.panel{position:fixed;right:20px;bottom:88px;z-index:2147483001;width:380px;height:min(640px,calc(100vh - 110px));display:flex;flex-direction:column;background:#fff;border-radius:14px;overflow:hidden;box-shadow:0 12px 40px rgba(0,0,0,.28)}
.panel[hidden]{display:none}
.head{display:flex;align-items:center;gap:10px;padding:12px 14px;background:#0b5cad;color:#fff}
.head h2{margin:0;font-size:17px;font-weight:600}
.conn{font-size:12px;opacity:.9}
.mode{font-size:12px;padding:1px 8px;border-radius:10px;background:rgba(255,255,255,.2)}.mode:empty{display:none}
.head .wx{margin-left:auto;border:1px solid rgba(255,255,255,.6);background:transparent;color:#fff;font-size:13px;padding:4px 10px;min-height:32px;border-radius:16px;cursor:pointer;white-space:nowrap}
.head .wx[hidden]{display:none}.head .wx:disabled{opacity:.6;cursor:default}
.head .wx:not([hidden])+.x{margin-left:0}
.head .x{margin-left:auto;border:0;background:transparent;color:#fff;font-size:26px;line-height:1;width:40px;height:40px;border-radius:8px;cursor:pointer}
.body{flex:1;overflow-y:auto;padding:14px 12px;background:#f5f7fa;overscroll-behavior:contain}
.intro{margin:0 0 12px;padding:10px 12px;border-radius:10px;background:#e6f0fa;color:#243b53;font-size:14px}
.log{display:flex;flex-direction:column;gap:10px}
.msg{display:flex;flex-direction:column;max-width:86%;align-self:flex-start}
.msg.merchant{align-self:flex-end;align-items:flex-end}
.msg.system{align-self:center;max-width:94%}
.bubble{padding:8px 12px;border-radius:12px;background:#fff;border:1px solid #e4e7eb;white-space:pre-wrap;overflow-wrap:anywhere}
.merchant .bubble{background:#0b5cad;color:#fff;border-color:#0b5cad}
.system .bubble{background:#fff8e1;border-color:#f7d070;font-size:14px}
.agent .bubble{border-color:#3ebd93}
.who{font-size:12px;color:#616e7c;margin:0 4px 2px}
.meta{font-size:12px;color:#616e7c;margin:2px 4px 0;display:flex;gap:6px;align-items:center}
.failed .meta{color:#cf1124}
.meta button{border:1px solid #cf1124;background:#fff;color:#cf1124;border-radius:6px;padding:0 8px;cursor:pointer}
.photo{display:block;max-width:220px;max-height:260px;border-radius:8px;background:#d9e2ec;min-width:60px;min-height:60px}
.typing{margin:10px 4px 0;font-size:13px;color:#616e7c}
.typing[hidden]{display:none}
.dots{display:inline-flex;gap:3px;margin-right:6px}.dots i{width:6px;height:6px;border-radius:3px;background:#9aa5b1;animation:b 1.2s infinite}
.dots i:nth-child(2){animation-delay:.2s}.dots i:nth-child(3){animation-delay:.4s}
@keyframes b{0%,80%,100%{opacity:.3}40%{opacity:1}}
@media (prefers-reduced-motion:reduce){.dots i{animation:none}}
.quick{display:flex;flex-wrap:wrap;gap:8px;margin-top:10px}
.quick button{border:1px solid #0b5cad;background:#fff;color:#0b5cad;border-radius:16px;padding:6px 14px;min-height:36px;cursor:pointer}
.bindbox{margin:0 0 12px;padding:10px 12px;border-radius:10px;background:#fff;border:1px solid #3ebd93;font-size:14px;position:relative}
.bindbox[hidden]{display:none}
.bindbox h3{margin:0 0 4px;font-size:14px;font-weight:600;color:#0c6b58}
.bindbox .code{font:600 28px/1.2 ui-monospace,"SFMono-Regular",Menlo,Consolas,monospace;letter-spacing:4px;color:#1f2933}
.bindbox .how{margin:4px 0 0}.bindbox.expired .code{color:#9aa5b1;text-decoration:line-through}
.bindbox .shut{position:absolute;top:4px;right:4px;border:0;background:transparent;color:#616e7c;font-size:20px;line-height:1;width:32px;height:32px;border-radius:6px;cursor:pointer}
.alert{margin:0;padding:8px 12px;background:#ffe3e3;color:#8a041a;font-size:14px}
.alert:empty{display:none}
form{display:flex;align-items:flex-end;gap:6px;padding:10px;border-top:1px solid #e4e7eb;background:#fff}
textarea{flex:1;resize:none;min-height:44px;max-height:120px;padding:10px 12px;border:1px solid #cbd2d9;border-radius:10px;font-size:16px;background:#fff}
.att,.send{flex:none;height:44px;border-radius:10px;cursor:pointer}
.att{width:44px;border:1px solid #cbd2d9;background:#fff;color:#0b5cad;display:grid;place-items:center}.att svg{width:24px;height:24px;fill:currentColor}
.send{padding:0 16px;border:0;background:#0b5cad;color:#fff;font-size:16px}
.send:disabled{opacity:.5;cursor:default}
.count{position:absolute;right:110px;bottom:58px;font-size:12px;color:#616e7c}
.count.over{color:#cf1124}
@media (max-width:520px){.panel{inset:0;width:auto;height:100%;border-radius:0}.open .launch{display:none}}`;
  const chat = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z"/></svg>';
  root.innerHTML = `<div class="w">
<button type="button" class="launch" aria-expanded="false" aria-controls="dd-panel" aria-label="打开在线客服">${chat}<span>在线客服</span><span class="badge" aria-hidden="true"></span></button>
<section class="panel" id="dd-panel" role="dialog" aria-labelledby="dd-title" hidden>
<div class="head"><div><h2 id="dd-title">掉单助手</h2><div class="conn"></div></div><span class="mode" role="status"></span>
<button type="button" class="wx" aria-controls="dd-bind" hidden>绑定微信</button>
<button type="button" class="x" aria-label="关闭客服窗口">×</button></div>
<div class="body">
<p class="intro">您好，我是掉单助手。告诉我交易的参考号、时间和金额，我帮您查清这笔钱的去向；也可以发签购单照片或截图。</p>
<section class="bindbox" id="dd-bind" aria-labelledby="dd-bind-title" aria-live="polite" hidden><h3 id="dd-bind-title">微信绑定码</h3>
<div class="code"></div><p class="how"></p>
<button type="button" class="shut" aria-label="收起绑定码">×</button></section>
<div class="log" role="log" aria-live="polite" aria-label="聊天记录"></div>
<div class="typing" role="status" hidden><span class="dots" aria-hidden="true"><i></i><i></i><i></i></span>掉单助手正在输入…</div>
<div class="quick" role="group" aria-label="快捷回复"></div>
</div>
<p class="alert" role="alert"></p>
<form novalidate>
<button type="button" class="att" aria-label="发送图片（签购单照片或截图）"><svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 5h16a1 1 0 0 1 1 1v12a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1V6a1 1 0 0 1 1-1zm1 2v8.6l4-4 3 3 2.5-2.5L19 16.6V7zm10 1.5a1.5 1.5 0 1 1 0 3 1.5 1.5 0 0 1 0-3z"/></svg></button>
<input type="file" accept="image/jpeg,image/png,image/webp" hidden tabindex="-1">
<label class="sr" for="dd-text">输入消息</label>
<textarea id="dd-text" rows="1" placeholder="说说情况，按回车发送" enterkeyhint="send"></textarea>
<span class="count" aria-hidden="true"></span>
<button type="submit" class="send">发送</button>
</form></div>`;
  if (root.adoptedStyleSheets !== undefined && window.CSSStyleSheet) {
    // CSSOM, not a <style> element: works under a CSP without 'unsafe-inline'.
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [sheet];
  } else {
    const style = document.createElement("style");
    style.textContent = CSS;
    root.prepend(style);
  }
  const $ = (s) => root.querySelector(s);
  const wrap = $(".w"), launcher = $(".launch"), panel = $(".panel"), log = $(".log");
  const body = $(".body"), typing = $(".typing"), quick = $(".quick"), alertBox = $(".alert");
  const form = $("form"), input = $("textarea"), file = $("input[type=file]"), conn = $(".conn");
  const badge = $(".badge"), count = $(".count"), mode = $(".mode");
  const wxButton = $(".wx"), bindBox = $(".bindbox");

  const items = new Map(); // server message id -> {m, el}
  const pending = []; // our own messages not yet seen coming back from the server
  const titles = new Map(); // quick-reply payload -> the title the merchant clicked
  let sessionId = store.get(), lastId = 0, ws = null, live = false, fatal = false;
  let attempt = 0, timer = 0, beat = 0, pongAt = 0, unread = 0, started = false, alertTimer = 0;
  let creating = null, agentName = "", bindTimer = 0;

  function merchantOf(jwt) {
    try {
      const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(atob(part)).sub || "x";
    } catch (e) {
      let hash = 0;
      for (const c of jwt) hash = (hash * 31 + c.charCodeAt(0)) | 0;
      return "t" + (hash >>> 0).toString(36);
    }
  }

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  async function api(method, path, payload) {
    const headers = { Authorization: "Bearer " + token };
    let data = payload;
    if (payload && !(payload instanceof FormData)) {
      headers["Content-Type"] = "application/json";
      data = JSON.stringify(payload);
    }
    let response;
    try {
      response = await fetch(origin + path, { method, headers, body: data, mode: "cors" });
    } catch (e) {
      throw new ApiError(0, T.network);
    }
    const json = await response.json().catch(() => null);
    if (!response.ok) {
      const text = json && json.error && json.error.message;
      throw new ApiError(response.status, response.status >= 500 || !text ? T.busy : text);
    }
    return json;
  }

  // --- the session and its live channel -------------------------------------------------
  function ensureSession() {
    if (sessionId) return Promise.resolve(sessionId);
    creating = creating || api("POST", "/api/v1/sessions", { channel: "widget" }).then((r) => {
      sessionId = r.session_id;
      store.set(sessionId);
      connect();
      return sessionId;
    }).finally(() => { creating = null; });
    return creating;
  }

  function forgetSession() {
    store.clear();
    sessionId = null;
    lastId = 0;
    items.clear();
    log.textContent = "";
    renderQuick();
  }

  function setConn(text) { conn.textContent = text; }

  function die(text) {
    fatal = true;
    setConn(text);
    showAlert(text, true);
    input.disabled = true;
    $(".send").disabled = true;
  }

  function connect() {
    if (fatal || !sessionId || ws) return;
    clearTimeout(timer);
    setConn(T.connecting);
    const url = new URL("/api/v1/sessions/" + encodeURIComponent(sessionId) + "/live", origin);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const sock = new WebSocket(url.href);
    ws = sock;
    // The token goes in the first frame, never in the URL (URLs end up in logs).
    sock.onopen = () => sock.send(JSON.stringify({ type: "auth", token }));
    sock.onmessage = (event) => {
      let frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      if (frame.type === "ready") {
        live = true;
        attempt = 0;
        limits = Object.assign(limits, frame.limits || {});
        setFeatures(frame.features || {});
        setConn(T.online);
        heartbeat(sock);
        catchUp();
      } else if (frame.type === "message") {
        accept(frame.message, true);
      } else if (frame.type === "status") {
        setMode(frame.status, frame.agent);
      } else if (frame.type === "pong") {
        pongAt = Date.now();
      }
    };
    sock.onclose = (event) => {
      if (ws !== sock) return;
      dropped();
      if (event.code === 4401) return die(T.expired);
      if (event.code === 4403) return die(T.origin);
      if (event.code === 4404) {
        forgetSession();
        return void ensureSession().catch(() => reconnectLater());
      }
      reconnectLater();
    };
  }

  function dropped() {
    ws = null;
    live = false;
    clearInterval(beat);
  }

  function reconnectLater() {
    if (fatal) return;
    setConn(T.offline);
    clearTimeout(timer);
    // Exponential backoff with jitter: 0.5 s, 1 s, 2 s … up to 30 s.
    const delay = Math.min(30000, 500 * 2 ** attempt) * (0.75 + Math.random() / 2);
    attempt += 1;
    timer = setTimeout(connect, delay);
  }

  function heartbeat(sock) {
    clearInterval(beat);
    pongAt = Date.now();
    beat = setInterval(() => {
      // A silent network drop never fires onclose in time: no pong for 45 s means dead.
      if (Date.now() - pongAt > 45000) {
        sock.onclose = null;
        sock.close();
        dropped();
        reconnectLater();
        return;
      }
      if (sock.readyState === 1) sock.send('{"type":"ping"}');
    }, 20000);
  }

  function setMode(status, agent) {
    if (agent) agentName = agent;
    mode.textContent = MODE[status] ? MODE[status] + (status === "agent" && agentName ? " " + agentName : "") : "";
  }

  async function catchUp() {
    if (!sessionId) return;
    // Who is speaking now (after a reload, or events missed while away).
    api("GET", "/api/v1/sessions/" + encodeURIComponent(sessionId)).then((s) => setMode(s.status), () => {});
    try {
      const list = await api("GET", "/api/v1/sessions/" + encodeURIComponent(sessionId) + "/messages?after=" + lastId);
      list.forEach((m) => accept(m));
    } catch (e) {
      if (e.status === 404) { forgetSession(); ensureSession().catch(() => {}); }
      else if (e.status === 401) die(T.expired);
    }
  }

  // --- rendering ---------------------------------------------------------------------------
  function accept(m, fresh) {
    if (!m || typeof m.id !== "number" || items.has(m.id)) return;
    (m.buttons || []).forEach((b) => titles.set(b.payload, b.title));
    let node = null;
    if (m.sender === "merchant") {
      const mine = claim(m);
      if (mine) {
        node = mine.el;
        setStatus(mine, "sent");
      }
    }
    if (!node) node = messageNode(m);
    node.dataset.id = String(m.id);
    place(node, m.id);
    items.set(m.id, { m, el: node });
    lastId = Math.max(lastId, m.id);
    if (m.sender === "merchant" && m.delivery === "pending") showTyping(true);
    else if (m.sender !== "merchant") showTyping(false);
    renderQuick();
    // Only what arrives live counts as unread, not the history restored after a reload.
    if (fresh && panel.hidden && m.sender !== "merchant") {
      unread += 1;
      badge.textContent = String(unread);
      launcher.setAttribute("aria-label", T.unread(unread));
    }
    scrollDown();
  }

  // Match the server's copy of our message to the bubble we already show (same kind and text;
  // the server masks card numbers, so digits and * do not count).
  function claim(m) {
    const norm = (s) => String(s).replace(/[\d*\s]/g, "");
    const index = pending.findIndex((p) => (m.attachment ? p.kind === "image"
      : p.kind === "text" && norm(p.text) === norm(m.text)));
    return index < 0 ? null : pending.splice(index, 1)[0];
  }

  function place(node, id) {
    // Keep id order; our unconfirmed messages stay last.
    const after = Array.from(log.children).find((c) => c !== node && (!c.dataset.id || Number(c.dataset.id) > id));
    log.insertBefore(node, after || null);
  }

  function messageNode(m) {
    const node = el("div", "msg " + m.sender);
    if (m.sender === "agent" && m.agent) agentName = m.agent;
    const who = m.sender === "agent" && m.agent ? WHO.agent + " " + m.agent : WHO[m.sender] || WHO.system;
    if (m.sender !== "merchant") node.append(el("div", "who", who));
    else node.append(el("span", "sr", WHO.merchant + "："));
    const bubble = el("div", "bubble");
    if (m.attachment) bubble.append(photo(null, m.attachment));
    else bubble.textContent = m.sender === "merchant" ? titles.get(m.text) || m.text : m.text;
    const meta = el("div", "meta");
    meta.append(el("time", "", clock(m.created_at)));
    node.append(bubble, meta);
    return node;
  }

  function photo(blob, url) {
    const img = el("img", "photo");
    img.alt = T.photo;
    if (blob) img.src = URL.createObjectURL(blob);
    else {
      // The image needs the token, which an <img src> cannot send: fetch it, show a blob.
      fetch(origin + url, { headers: { Authorization: "Bearer " + token } })
        .then((r) => (r.ok ? r.blob() : Promise.reject(r.status)))
        .then((b) => { img.src = URL.createObjectURL(b); })
        .catch(() => { img.alt = "图片加载失败"; });
    }
    return img;
  }

  function clock(iso) {
    const d = iso ? new Date(iso) : new Date();
    return d.toLocaleTimeString("zh-CN", { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: "Asia/Shanghai" });
  }

  function setStatus(item, state) {
    item.state = state;
    const meta = item.el.querySelector(".meta");
    meta.textContent = "";
    meta.append(el("time", "", clock()));
    item.el.classList.toggle("failed", state === "failed");
    const label = T[state];
    meta.append(el("span", "status", label));
    if (state === "failed" && !item.final) {
      const again = el("button", "", T.retry);
      again.type = "button";
      again.setAttribute("aria-label", T.retry + "发送这条消息");
      again.addEventListener("click", () => deliver(item));
      meta.append(again);
    }
  }

  function renderQuick() {
    quick.textContent = "";
    const last = items.size ? items.get(Math.max(...items.keys())) : null;
    if (pending.some((p) => p.state === "sending")) return;
    if (!last || !last.m.buttons || !last.m.buttons.length) return;
    if (last.m.sender === "merchant") return;
    for (const b of last.m.buttons) {
      const button = el("button", "", b.title);
      button.type = "button";
      button.addEventListener("click", () => {
        quick.textContent = "";
        send("text", b.payload, b.title);
        input.focus();
      });
      quick.append(button);
    }
  }

  function showTyping(on) { typing.hidden = !on; if (on) scrollDown(); }

  function showAlert(text, sticky) {
    clearTimeout(alertTimer);
    alertBox.textContent = text || "";
    if (text && !sticky) alertTimer = setTimeout(() => { alertBox.textContent = ""; }, 8000);
  }

  function scrollDown() { body.scrollTop = body.scrollHeight; }

  // --- sending -------------------------------------------------------------------------------
  function send(kind, payload, shown) {
    const node = el("div", "msg merchant");
    node.append(el("span", "sr", WHO.merchant + "："));
    const bubble = el("div", "bubble");
    if (kind === "image") bubble.append(photo(payload));
    else bubble.textContent = shown || payload;
    node.append(bubble, el("div", "meta"));
    const item = { kind, el: node, state: "sending", text: kind === "text" ? payload : "", blob: kind === "image" ? payload : null,
      // One id per message, sent again with every retry: the server takes the message once.
      clientId: newClientId() };
    log.append(node);
    pending.push(item);
    renderQuick();
    scrollDown();
    return deliver(item);
  }

  function newClientId() {
    if (window.crypto && crypto.randomUUID) return "w-" + crypto.randomUUID();
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return "w-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  async function deliver(item) {
    if (pending.indexOf(item) < 0) pending.push(item);
    setStatus(item, "sending");
    showAlert("");
    try {
      const sid = await ensureSession();
      const path = "/api/v1/sessions/" + encodeURIComponent(sid);
      if (item.kind === "image") {
        const formData = new FormData();
        formData.append("file", item.blob, item.blob.name || "photo");
        accept(await api("POST", path + "/attachments", formData));
      } else {
        await api("POST", path + "/messages", { text: item.text, client_message_id: item.clientId });
        if (item.state === "sending") setStatus(item, "sent");
        // A retry of a message the server already had: its echo came before, none will follow.
        if (item.el.dataset.id && pending.indexOf(item) >= 0) pending.splice(pending.indexOf(item), 1);
      }
    } catch (e) {
      if (e.status === 404 && !item.retried) {
        item.retried = true;
        forgetSession();
        log.append(item.el);
        return deliver(item);
      }
      if (e.status === 401) die(T.expired);
      item.final = e.status === 413 || e.status === 422;
      // Refused for its content: the server kept nothing, so no echo will ever claim it.
      if (item.final && pending.indexOf(item) >= 0) pending.splice(pending.indexOf(item), 1);
      setStatus(item, "failed");
      renderQuick();
      showAlert(e.status === 413 && item.kind === "image" ? T.tooBig(mb()) : e.message);
    } finally {
      if (item.kind === "text") showTyping(false);
      if (!live) catchUp();
    }
  }

  function mb() { return Math.round((limits.upload_bytes / 1048576) * 10) / 10; }

  function submitText() {
    const text = input.value.trim();
    if (!text || fatal) return;
    if ([...text].length > limits.message_chars) return showAlert(T.tooLong(limits.message_chars));
    input.value = "";
    resize();
    send("text", text);
  }

  function resize() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight + 2, 120) + "px";
    const n = [...input.value].length;
    count.textContent = n > limits.message_chars * 0.8 ? n + "/" + limits.message_chars : "";
    count.classList.toggle("over", n > limits.message_chars);
  }

  form.addEventListener("submit", (event) => { event.preventDefault(); submitText(); });
  input.addEventListener("keydown", (event) => {
    // Enter sends; Shift+Enter is a new line; never while a Chinese IME is composing.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      submitText();
    }
  });
  input.addEventListener("input", resize);
  $(".att").addEventListener("click", () => file.click());
  file.addEventListener("change", () => {
    const chosen = file.files && file.files[0];
    file.value = "";
    if (!chosen) return;
    if (IMAGE_TYPES.indexOf(chosen.type) < 0) return showAlert(T.badType);
    if (chosen.size > limits.upload_bytes) return showAlert(T.tooBig(mb()));
    send("image", chosen);
  });

  // --- 「绑定微信」: a one-time code the merchant sends to the official account ---------------
  function setFeatures(features) {
    wxButton.hidden = !features.wechat_binding;
    if (wxButton.hidden) bindBox.hidden = true;
  }

  async function getBindCode() {
    if (fatal || wxButton.disabled) return;
    wxButton.disabled = true;
    wxButton.textContent = T.binding;
    showAlert("");
    try {
      showBindCode(await api("POST", "/api/v1/wechat/bind-codes"));
    } catch (e) {
      if (e.status === 401) return die(T.expired);
      if (e.status === 404) { setFeatures({}); return showAlert(T.bindOff); } // the channel is off
      showAlert(e.message);
    } finally {
      wxButton.disabled = false;
      wxButton.textContent = T.bind;
    }
  }

  function showBindCode(issued) {
    const code = String(issued.code), expires = new Date(issued.expires_at);
    const minutes = issued.valid_minutes || Math.max(1, Math.round((expires - Date.now()) / 60000));
    clearTimeout(bindTimer);
    bindBox.classList.remove("expired");
    bindBox.querySelector(".code").textContent = code;
    bindBox.querySelector(".how").textContent = T.bindHow(code, minutes, clock(issued.expires_at));
    bindBox.hidden = false;
    body.scrollTop = 0;
    // The server's clock decides; ours only greys the code out once it has surely expired.
    bindTimer = setTimeout(() => {
      bindBox.classList.add("expired");
      bindBox.querySelector(".how").textContent = T.bindExpired;
      wxButton.textContent = T.bindAgain;
    }, minutes * 60000);
  }

  wxButton.addEventListener("click", getBindCode);
  $(".shut").addEventListener("click", () => {
    bindBox.hidden = true;
    wxButton.focus();
  });

  // --- opening and closing -------------------------------------------------------------------
  function start() {
    if (started) return;
    started = true;
    if (sessionId) connect();
    else ensureSession().catch((e) => showAlert(e.message));
  }

  function openPanel(focus) {
    panel.hidden = false;
    wrap.classList.add("open");
    launcher.setAttribute("aria-expanded", "true");
    unread = 0;
    badge.textContent = "";
    launcher.setAttribute("aria-label", "打开在线客服");
    try { sessionStorage.setItem(openKey, "1"); } catch (e) { /* ignore */ }
    start();
    scrollDown();
    if (focus !== false) input.focus();
  }

  function closePanel() {
    panel.hidden = true;
    wrap.classList.remove("open");
    launcher.setAttribute("aria-expanded", "false");
    try { sessionStorage.removeItem(openKey); } catch (e) { /* ignore */ }
    launcher.focus();
  }

  launcher.addEventListener("click", () => (panel.hidden ? openPanel() : closePanel()));
  $(".x").addEventListener("click", closePanel);
  panel.addEventListener("keydown", (event) => { if (event.key === "Escape") closePanel(); });
  window.addEventListener("online", () => { attempt = 0; if (!ws && started) connect(); });

  window.DropDesk = {
    open: () => openPanel(),
    close: closePanel,
    fill: (text) => { openPanel(); input.value = String(text); resize(); input.focus(); },
  };
  const mount = () => {
    document.body.append(host);
    let reopen = false;
    try { reopen = sessionStorage.getItem(openKey) === "1"; } catch (e) { /* ignore */ }
    if (reopen) openPanel(false);
    else if (sessionId) start(); // restore history and unread count in the background
  };
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
