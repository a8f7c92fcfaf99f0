// The ta serve page: a live session list, a session view with the live terminal (xterm.js),
// guidance, questions, actions and the draft review. Everything untrusted is shown with
// textContent (never innerHTML): file names, diffs, messages and titles stay text.
"use strict";

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function api(method, path, body) {
  const options = { method, headers: {} };
  if (body !== undefined) {
    options.headers["content-type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  let data = null;
  try { data = await response.json(); } catch (_) { data = null; }
  if (!response.ok) {
    throw new Error((data && data.error) || `${response.status} ${response.statusText}`);
  }
  return data;
}

function elapsed(seconds) {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${seconds % 60}s`;
  return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
}

function secondsOf(session) {
  const start = Date.parse(session.created_at);
  const alive = session.state === "active" || session.state === "paused";
  const end = alive ? Date.now() : Date.parse(session.updated_at);
  return Math.max(0, Math.floor((end - start) / 1000));
}

// ------------------------------------------------------------------------------ the list

const listState = { sessions: [], showAll: false };

function renderList() {
  const body = $("sessions").tBodies[0];
  const shown = listState.sessions.filter(
    (s) => listState.showAll || s.state === "active" || s.state === "paused");
  body.replaceChildren(...shown.map((s) => el("tr", {
    dataset: { sessionId: s.session_id, state: s.state },
    onclick: () => { location.hash = `#/session/${s.session_id}`; },
  },
    el("td", {}, el("a", { href: `#/session/${s.session_id}` }, s.session_id.slice(0, 8))),
    el("td", { class: "goal" }, s.title || s.goal_id.slice(0, 8)),
    el("td", {}, s.agent_id),
    el("td", {}, el("span", { class: `badge state-${s.state}` }, s.state)),
    el("td", {}, el("span", { class: `badge host-${s.host.status}` },
      s.host.status === "none" ? "-" : s.host.status)),
    el("td", {}, el("span", { class: `badge act-${s.activity}` }, s.activity || "-")),
    el("td", { class: "elapsed", dataset: { seconds: "" } }, elapsed(secondsOf(s))),
  )));
  $("sessions-empty").hidden = shown.length > 0;
}

let eventsSocket = null;
function listenToList(delay = 500) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/api/events`);
  eventsSocket = socket;
  socket.onopen = () => { $("connection").textContent = "live"; delay = 500; };
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "sessions") {
      listState.sessions = message.sessions;
      renderList();
      if (view.sid) updateHeadFromList();
    }
  };
  socket.onclose = () => {
    $("connection").textContent = "reconnecting…";
    setTimeout(() => listenToList(Math.min(delay * 2, 8000)), delay);
  };
}

// ------------------------------------------------------------------------------ new session

async function showNew() {
  const select = document.querySelector("#new-form select[name=agent]");
  if (!select.options.length) {
    try {
      const agents = await api("GET", "/api/agents");
      select.replaceChildren(...agents.map((a) => el("option", { value: a.name }, a.name)));
    } catch (error) {
      $("new-error").textContent = error.message;
    }
  }
}

function splitCommand(text) {
  // Words separated by blanks; "double" or 'single' quotes keep blanks inside a word.
  const words = [];
  const pattern = /"([^"]*)"|'([^']*)'|(\S+)/g;
  let match;
  while ((match = pattern.exec(text)) !== null) {
    words.push(match[1] ?? match[2] ?? match[3]);
  }
  return words;
}

$("new-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const body = { title: form.title.value, objective: form.objective.value };
  const command = splitCommand(form.command.value);
  if (command.length) body.command = command; else body.agent = form.agent.value;
  $("new-error").textContent = "";
  form.querySelector("button").disabled = true;
  try {
    const started = await api("POST", "/api/sessions", body);
    form.reset();
    location.hash = `#/session/${started.session_id}`;
  } catch (error) {
    $("new-error").textContent = error.message;
  } finally {
    form.querySelector("button").disabled = false;
  }
});

// ------------------------------------------------------------------------------ one session

const view = { sid: null, term: null, fit: null, socket: null, timer: null, detail: null,
               allowInput: true, drafts: new Map(), window: null };
window.ta = view; // for tests and debugging: view.term is the xterm.js Terminal

function setText(id, text, cls) {
  const node = $(id);
  node.textContent = text;
  if (cls !== undefined) node.className = cls;
}

function updateHead(s) {
  setText("s-title", s.title || `Goal ${s.goal_id.slice(0, 8)}`);
  setText("s-state", s.state, `badge state-${s.state}`);
  setText("s-host", `host ${s.host.status}`, `badge host-${s.host.status}`);
  setText("s-activity", s.activity || "-", `badge act-${s.activity}`);
  setText("s-meta", `${s.session_id.slice(0, 8)} · ${s.agent_id} · ${elapsed(secondsOf(s))}`);
  const alive = s.state === "active" || s.state === "paused";
  $("a-pause").disabled = s.state !== "active";
  $("a-resume").disabled = !(s.state === "paused" || (alive && s.host.status === "lost"));
  $("a-close").disabled = !alive;
  $("a-abort").disabled = !alive;
  $("guidance").disabled = s.state !== "active";
}

function updateHeadFromList() {
  const s = listState.sessions.find((x) => x.session_id === view.sid);
  if (!s || !view.detail) return;
  const before = `${view.detail.state}/${view.detail.host.status}/${view.detail.activity}`;
  if (before !== `${s.state}/${s.host.status}/${s.activity}`) refreshSession();
}

function renderLog(messages) {
  const shown = messages.slice(-500);
  $("log-count").textContent = messages.length > shown.length
    ? `(last ${shown.length} of ${messages.length})` : `(${messages.length})`;
  const log = $("log");
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 30;
  log.replaceChildren(...shown.map((m) => el("li", { dataset: { sender: m.sender } },
    el("span", { class: "muted" }, `[${m.timestamp.slice(11, 19)}] `),
    el("span", { class: "sender" }, `${m.sender}: `),
    m.content)));
  if (atBottom) log.scrollTop = log.scrollHeight;
}

// A refresh keeps the form of a question still open, so an answer being typed is not wiped
// (the page refreshes whenever the session's activity changes, which is often while typing).
function renderQuestions(s) {
  const container = $("questions");
  const kept = new Map([...container.children].map((node) => [node.dataset.key, node]));
  container.replaceChildren(...s.questions.map((q) => {
    const key = q.question_id || `prompt:${q.prompt}`;
    if (kept.has(key)) return kept.get(key);
    const input = el("input", { placeholder: "Your answer", "data-testid": "answer-text" });
    const form = el("form", {
      onsubmit: async (event) => {
        event.preventDefault();
        await act("answer", { text: input.value, question_id: q.question_id || undefined });
        input.value = "";
      },
    }, input, el("button", { type: "submit", "data-testid": "answer-send" }, "Answer"));
    return el("div", { class: "question", "data-testid": "question", dataset: { key } },
      el("div", {}, el("strong", {}, "The agent asks: "), q.prompt), form);
  }));
}

async function refreshSession() {
  const sid = view.sid;
  if (!sid) return;
  try {
    const s = await api("GET", `/api/sessions/${sid}`);
    if (sid !== view.sid) return;
    view.detail = s;
    updateHead(s);
    renderLog(s.messages);
    renderQuestions(s);
    $("s-error").textContent = "";
    await refreshDrafts(s);
    if (!view.socket && s.host.status === "live") connectTerminal();
  } catch (error) {
    $("s-error").textContent = error.message;
  }
}

async function act(action, body) {
  $("a-result").textContent = `${action}…`;
  try {
    const result = await api("POST", `/api/sessions/${view.sid}/${action}`, body || {});
    $("a-result").textContent = [...result.notes, result.summary].join(" ");
    $("s-error").textContent = "";
  } catch (error) {
    $("a-result").textContent = "";
    $("s-error").textContent = error.message;
  }
  await refreshSession();
}

$("a-pause").addEventListener("click", () => act("pause"));
$("a-resume").addEventListener("click", () => act("resume"));
$("a-close").addEventListener("click", () => act("close", { build_draft: true }));
$("a-abort").addEventListener("click", () => {
  const reason = $("a-reason").value.trim();
  act("abort", reason ? { reason } : {});
});
$("guidance-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = $("guidance").value;
  await act("send", { text });
  $("guidance").value = "";
});

// ------------------------------------------------------------------------------ the terminal

function makeTerminal() {
  if (view.term) return;
  view.term = new Terminal({ scrollback: 5000, fontSize: 13, convertEol: false,
                             allowProposedApi: false, cursorBlink: true });
  view.fit = new FitAddon.FitAddon();
  view.term.loadAddon(view.fit);
  view.term.open($("terminal"));
  view.fit.fit();
  const encoder = new TextEncoder();
  view.term.onData((data) => sendKeys(encoder.encode(data)));
  view.term.onBinary((data) => sendKeys(Uint8Array.from(data, (c) => c.charCodeAt(0) & 255)));
  let pending = null;
  window.addEventListener("resize", () => {
    clearTimeout(pending);
    pending = setTimeout(fitAndTell, 100);
  });
}

function sendKeys(bytes) {
  if (view.socket && view.socket.readyState === WebSocket.OPEN && view.allowInput) {
    view.socket.send(bytes);
  }
}

// The size the page has room for. The terminal itself takes the agent's window once the host
// says what it is (the smallest terminal attached, or the latest: docs/protocol.md).
function roomFor() {
  const dims = view.fit.proposeDimensions();
  return dims && dims.cols > 0 && dims.rows > 0 ? dims : { cols: view.term.cols, rows: view.term.rows };
}

function fitAndTell() {
  if (!view.term) return;
  if (!view.window) view.fit.fit();
  const { cols, rows } = roomFor();
  showWindow();
  if (view.socket && view.socket.readyState === WebSocket.OPEN) {
    view.socket.send(JSON.stringify({ type: "resize", cols, rows }));
  }
}

function applyWindow(w) {
  if (!view.term || !w || !(w.cols > 0 && w.rows > 0)) return;
  view.window = w;
  if (view.term.cols !== w.cols || view.term.rows !== w.rows) view.term.resize(w.cols, w.rows);
  showWindow();
}

function showWindow() {
  const w = view.window;
  if (!w || !view.term) { $("term-window").textContent = ""; return; }
  const room = roomFor();
  const why = w.policy === "latest" ? "the latest terminal size" : "the smallest terminal attached";
  const other = w.policy === "latest" ? "smallest" : "latest";
  let text = "";
  if (room.cols < w.cols || room.rows < w.rows) {
    text = `agent window ${w.cols}×${w.rows} (${why}) is larger than this page: part of it is cut off`;
  } else if (room.cols > w.cols || room.rows > w.rows) {
    text = `agent window ${w.cols}×${w.rows} (${why}) — ta run --size ${other} to change`;
  }
  $("term-window").textContent = text;
}

function connectTerminal() {
  makeTerminal();
  const sid = view.sid;
  const { cols, rows } = roomFor();
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(
    `${scheme}://${location.host}/api/sessions/${sid}/terminal?cols=${cols}&rows=${rows}`);
  socket.binaryType = "arraybuffer";
  view.socket = socket;
  view.term.reset();
  $("term-status").textContent = "attaching…";
  socket.onmessage = (event) => {
    if (sid !== view.sid) return;
    if (event.data instanceof ArrayBuffer) {
      view.term.write(new Uint8Array(event.data));
      return;
    }
    const message = JSON.parse(event.data);
    switch (message.type) {
      case "welcome":
        view.allowInput = message.allow_human_input !== false;
        applyWindow(message.window);
        $("term-status").textContent = view.allowInput
          ? "live: click the terminal to type into the agent" : "live (this agent takes no typing)";
        break;
      case "window":
        applyWindow(message);
        break;
      case "resync":
        $("term-status").textContent = `output skipped (this page fell behind by ${message.dropped_bytes} bytes)`;
        break;
      case "closed":
        $("term-status").textContent = `ended: ${message.reason}`;
        break;
      case "error":
        $("term-status").textContent = `error: ${message.message}`;
        break;
      case "activity": case "waiting_for_input": case "state_changed": case "bye":
      case "draft_ready": case "goal_complete":
        refreshSession();
        break;
      default:
        break;
    }
  };
  socket.onclose = () => {
    if (view.socket === socket) view.socket = null;
  };
}

function leaveSession() {
  if (view.socket) { const s = view.socket; view.socket = null; s.close(); }
  clearInterval(view.timer);
  view.sid = null;
  view.detail = null;
  view.window = null;
  $("term-window").textContent = "";
  if (view.term) view.fit.fit();
}

function openSession(sid) {
  if (view.sid === sid) return;
  leaveSession();
  view.sid = sid;
  view.drafts = new Map();
  $("log").replaceChildren();
  $("drafts").replaceChildren();
  $("questions").replaceChildren();
  $("a-result").textContent = "";
  $("term-status").textContent = "";
  makeTerminal();
  view.term.reset();
  refreshSession();
  view.timer = setInterval(refreshSession, 1500);
}

// ------------------------------------------------------------------------------ drafts

function diffView(text) {
  const pre = el("pre", { class: "diff", "data-testid": "diff" });
  for (const line of text.split("\n")) {
    let cls = null;
    if (line.startsWith("+++") || line.startsWith("---")) cls = null;
    else if (line.startsWith("+")) cls = "add";
    else if (line.startsWith("-")) cls = "del";
    else if (line.startsWith("@@")) cls = "hunk";
    pre.append(cls ? el("span", { class: cls }, line) : document.createTextNode(`${line}\n`));
  }
  return pre;
}

function artifactView(draft, artifact) {
  const open = ["pending_review", "approved", "denied"].includes(draft.status);
  const note = el("input", { placeholder: "reason / comment", "data-testid": "artifact-text" });
  const decide = (disposition) => async () => {
    const text = note.value.trim();
    try {
      await api("POST", `/api/drafts/${draft.draft_id}/decide`,
        { disposition, artifacts: [artifact.resource_uri], text: text || undefined });
      $("s-error").textContent = "";
    } catch (error) {
      $("s-error").textContent = error.message;
    }
    await refreshDraft(draft.draft_id);
  };
  let body;
  if (artifact.diff) body = diffView(artifact.diff);
  else if (artifact.binary) body = el("p", { class: "muted" }, `binary file: ${artifact.base_size || 0} → ${artifact.new_size || 0} bytes`);
  else if (artifact.kind === "symlink") body = el("p", { class: "muted" }, `symlink → ${artifact.link_target}`);
  else body = el("p", { class: "muted" }, "(no diff)");
  const decision = [artifact.disposition, artifact.reason, artifact.comment].filter(Boolean).join(" — ");
  return el("div", { class: "artifact", "data-testid": "artifact", dataset: { path: artifact.path } },
    el("div", {}, el("strong", { "data-testid": "artifact-path" }, artifact.description),
      " ", el("span", { class: `badge disp-${artifact.disposition}`, "data-testid": "artifact-disposition" }, decision)),
    open ? el("div", { class: "controls" },
      el("button", { onclick: decide("approved"), "data-testid": "approve" }, "Approve"),
      note,
      el("button", { onclick: decide("rejected"), "data-testid": "reject" }, "Reject"),
      el("button", { onclick: decide("discuss"), "data-testid": "discuss" }, "Discuss")) : null,
    body);
}

function draftView(draft) {
  const apply = async () => {
    try {
      const result = await api("POST", `/api/drafts/${draft.draft_id}/apply`, {});
      $("a-result").textContent = result.summary;
      $("s-error").textContent = "";
    } catch (error) {
      $("s-error").textContent = error.message;
    }
    await refreshDraft(draft.draft_id);
  };
  const canApply = draft.status === "approved";
  return el("div", { class: "draft", "data-testid": "draft", dataset: { draftId: draft.draft_id, status: draft.status } },
    el("div", {}, el("strong", {}, `Draft ${draft.draft_id.slice(0, 8)}`), " ",
      el("span", { class: "badge", "data-testid": "draft-status" }, draft.status), " ", draft.summary),
    ...draft.artifacts.map((a) => artifactView(draft, a)),
    el("button", { onclick: apply, disabled: !canApply, "data-testid": "apply" }, "Apply approved files"));
}

async function refreshDraft(draftId) {
  try {
    const draft = await api("GET", `/api/drafts/${draftId}`);
    view.drafts.set(draftId, draft);
    renderDrafts();
  } catch (error) {
    $("s-error").textContent = error.message;
  }
}

function renderDrafts() {
  const drafts = [...view.drafts.values()].sort((a, b) => b.created_at.localeCompare(a.created_at));
  $("drafts").replaceChildren(...(drafts.length ? drafts.map(draftView)
    : [el("p", { class: "muted" }, "No drafts yet.")]));
}

async function refreshDrafts(s) {
  // A draft is fetched again only when its status in the session's listing changed.
  const changed = s.drafts.filter((d) => {
    const known = view.drafts.get(d.draft_id);
    return !known || known.status !== d.status;
  });
  for (const d of changed) {
    if (d.status === "missing") continue;
    const draft = await api("GET", `/api/drafts/${d.draft_id}`);
    view.drafts.set(d.draft_id, draft);
  }
  if (changed.length || !$("drafts").childElementCount) renderDrafts();
}

$("d-build").addEventListener("click", async () => {
  try {
    const result = await api("POST", "/api/drafts", { goal: view.detail.goal_id });
    $("a-result").textContent = result.summary;
    if (result.draft) view.drafts.set(result.draft.draft_id, result.draft);
    renderDrafts();
  } catch (error) {
    $("s-error").textContent = error.message;
  }
});

// ------------------------------------------------------------------------------ routing

function route() {
  const hash = location.hash || "#/";
  const session = hash.match(/^#\/session\/([0-9a-f-]+)$/);
  $("list-view").hidden = !!session || hash === "#/new";
  $("new-view").hidden = hash !== "#/new";
  $("session-view").hidden = !session;
  if (session) {
    openSession(session[1]);
    setTimeout(fitAndTell, 0);
  } else {
    leaveSession();
    if (hash === "#/new") showNew();
  }
}

$("show-all").addEventListener("change", (event) => {
  listState.showAll = event.target.checked;
  renderList();
});
window.addEventListener("hashchange", route);
setInterval(() => {
  for (const row of $("sessions").tBodies[0].rows) {
    const s = listState.sessions.find((x) => x.session_id === row.dataset.sessionId);
    if (s) row.querySelector(".elapsed").textContent = elapsed(secondsOf(s));
  }
}, 1000);
listenToList();
route();
