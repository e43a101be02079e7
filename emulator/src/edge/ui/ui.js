// vpcgate trace viewer. Reads serve's own feed (/_vpcgate/executions, /_vpcgate/trace/{id},
// /_vpcgate/topology); the drawings are rendered by serve (one SVG renderer, shared with
// `vpcgate explain --format svg`). Text from the feed is set with textContent, never as markup.
"use strict";

const POLL_MS = 1000;
const $ = (id) => document.getElementById(id);
let feed = [];
let feedKey = "";
let open = { id: null, state: null, hops: -1, running: false };
let polls = 0;

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== null && v !== undefined) e.setAttribute(k, v);
  }
  for (const c of children) {
    if (c !== null && c !== undefined) e.append(c);
  }
  return e;
}

function seconds(ms) {
  return (ms / 1000).toFixed(3) + " s";
}

function statusClass(status) {
  if (/^\d{3}$/.test(status)) return "st-" + status[0] + "xx";
  return "st-" + status;
}

function route() {
  const m = /^#e\/([^/]+)(?:\/(.*))?$/.exec(location.hash);
  if (!m) return { id: null, state: null };
  return { id: decodeURIComponent(m[1]), state: m[2] === undefined ? null : decodeURIComponent(m[2]) };
}

async function getJson(path) {
  const r = await fetch(path, { cache: "no-store" });
  if (!r.ok) throw new Error(path + ": " + r.status);
  return r.json();
}

async function getText(path) {
  const r = await fetch(path, { cache: "no-store" });
  if (!r.ok) throw new Error(path + ": " + r.status);
  return r.text();
}

function renderList() {
  const list = $("entries");
  const focused = document.activeElement && document.activeElement.dataset
    ? document.activeElement.dataset.id : null;
  list.replaceChildren();
  $("empty").hidden = feed.length > 0;
  for (const e of feed) {
    const meta = e.kind === "execution"
      ? `${e.type} · ${seconds(e.virtualMs)} virtual · ${e.wallMs} ms wall · ${e.hops} hops`
      : `execute-api · ${seconds(e.virtualMs)} virtual · ${e.wallMs} ms wall · ${e.hops} hops`;
    const a = el("a", {
      href: "#e/" + encodeURIComponent(e.id),
      class: "entry " + statusClass(e.status),
      "data-id": e.id,
      "aria-current": String(e.id === open.id),
    },
      el("span", { class: "entry-title" },
        el("span", { class: "badge " + statusClass(e.status) }, e.status), " ", e.title),
      el("span", { class: "entry-meta" }, meta),
      e.error ? el("span", { class: "entry-error" }, e.error) : null,
      !e.error && e.refusedBy ? el("span", { class: "entry-error" }, e.refusedBy.component + " " + e.refusedBy.verdict) : null,
    );
    list.append(el("li", {}, a));
    if (focused !== null && focused === e.id) a.focus();
  }
}

async function poll() {
  try {
    const doc = await getJson("/_vpcgate/executions");
    feed = doc.entries || [];
    const key = JSON.stringify(feed.map((e) => [e.id, e.status, e.hops, e.wallMs > 0]));
    if (key !== feedKey) {
      feedKey = key;
      renderList();
    }
    $("live").textContent = "live · " + feed.length + " recent · " + new Date().toLocaleTimeString();
    $("live").classList.remove("stale");
    if (open.id !== null) {
      const cur = feed.find((e) => e.id === open.id || e.executionArn === open.id);
      if (cur && (cur.hops !== open.hops || cur.running !== open.running)) await showDetail(false);
    } else if (route().id !== null) {
      await showDetail(false);
    }
    if (++polls % 10 === 0) await loadTopology();
  } catch (err) {
    $("live").textContent = "not connected (" + err.message + ")";
    $("live").classList.add("stale");
  }
}

function defaultState(doc) {
  const states = doc.states || [];
  const refused = states.find((s) => s.refused);
  if (refused) return refused.name;
  const task = states.find((s) => s.hops > 0);
  return task ? task.name : "";
}

async function showDetail(moveFocus) {
  const r = route();
  if (r.id === null) return;
  let doc;
  try {
    doc = await getJson("/_vpcgate/trace/" + encodeURIComponent(r.id));
  } catch (err) {
    $("detail-title").textContent = "Not found: " + r.id + " (" + err.message + ")";
    return;
  }
  const state = r.state !== null ? r.state : (doc.kind === "execution" ? defaultState(doc) : "");
  open = { id: r.id, state, hops: doc.hops, running: doc.running, scrolledFor: open.scrolledFor };
  for (const a of document.querySelectorAll("#entries a")) {
    a.setAttribute("aria-current", String(a.dataset.id === doc.id));
  }
  $("detail-title").replaceChildren(
    el("span", { class: "badge " + statusClass(doc.status) }, doc.status), " ", doc.title);
  const rows = [];
  const add = (k, v) => { if (v !== null && v !== undefined && v !== "") rows.push(el("dt", {}, k), el("dd", {}, String(v))); };
  if (doc.kind === "execution") {
    add("execution", doc.executionArn);
    add("type", doc.type);
  } else {
    add("request", doc.method + " " + doc.path);
    add("API", doc.api);
  }
  add("virtual time", seconds(doc.virtualMs));
  add("wall time", doc.wallMs + " ms");
  add("error", doc.error);
  add("cause", doc.cause);
  const parts = [el("dl", {}, ...rows)];
  if (doc.refusedBy) {
    const h = doc.refusedBy;
    parts.unshift(el("p", { class: "refused-by", role: "note" },
      el("strong", {}, `${h.component} ${h.verdict} at ${seconds(h.atMs)}`),
      h.address ? " — at " + h.address : "",
      h.rule ? el("span", {}, el("br"), "decided by: " + h.rule) : null,
    ));
  }
  $("summary").replaceChildren(...parts);
  renderStates(doc, state);
  const q = state ? "&state=" + encodeURIComponent(state) : "";
  try {
    $("trace").innerHTML = await getText("/_vpcgate/trace/" + encodeURIComponent(r.id) + "?format=svg" + q);
  } catch (err) {
    $("trace").textContent = err.message;
  }
  markTopology(doc.trace.hops.filter((h) => !state || h.state === state));
  // The hop that refused is what the reader came for: bring it into view (first time only).
  const deciding = $("trace").querySelector(".deciding");
  if (deciding && open.scrolledFor !== r.id + "/" + state) {
    open.scrolledFor = r.id + "/" + state;
    deciding.scrollIntoView({ block: "nearest" });
  }
  if (moveFocus) $("detail").focus();
}

function renderStates(doc, selected) {
  const box = $("states");
  box.replaceChildren();
  if (doc.kind !== "execution") return;
  const tabs = [{ name: "", label: "whole execution", refused: false }].concat(
    (doc.states || []).map((s) => ({
      name: s.name,
      label: `${s.name} (${s.type}, ${s.hops} hops, ${seconds((s.exitedMs ?? doc.virtualMs) - s.enteredMs)})`,
      refused: s.refused,
    })));
  for (const t of tabs) {
    const b = el("button", {
      type: "button", role: "tab", "aria-selected": String(t.name === selected),
      class: t.refused ? "refused" : null,
    }, t.label);
    b.addEventListener("click", () => {
      location.hash = "#e/" + encodeURIComponent(open.id) + "/" + encodeURIComponent(t.name);
    });
    box.append(b);
  }
}

function markTopology(hops) {
  const text = hops.map((h) => [h.address || "", h.message || "", h.rule || ""].join(" "));
  for (const g of document.querySelectorAll("#topo .eni")) {
    const ip = g.dataset.ip;
    const re = new RegExp("(^|[^0-9.])" + ip.replace(/[.]/g, "\\.") + "([^0-9]|$)");
    const hit = hops.findIndex((h, i) => re.test(text[i]));
    const red = hops.some((h, i) => ["DROP", "REFUSE", "FAIL"].includes(h.verdict) && re.test(text[i]));
    g.classList.toggle("hit", hit >= 0 && !red);
    g.classList.toggle("hit-red", red);
  }
}

async function loadTopology() {
  try {
    $("topo").innerHTML = await getText("/_vpcgate/topology?format=svg");
    const t = await getJson("/_vpcgate/topology");
    $("world").textContent = `account ${t.accountId} · ${t.region}`;
    if (open.id !== null) await showDetail(false);
  } catch (err) {
    $("topo").textContent = err.message;
  }
}

window.addEventListener("hashchange", () => showDetail(true));
loadTopology().then(poll).then(() => setInterval(poll, POLL_MS));
