// The lab's page: start a run, read its events as they stream in, draw the timeline in SVG.
// A bar runs from the moment a request was sent to the moment its response arrived: light while
// it waited, solid while the app worked on it (the server's own start and end); colours tell
// the worker processes apart.
// Times come from the lab's own client (seconds since the run started, one axis for all lanes);
// between events the bars of requests still in flight grow with the page's clock.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const ROW = 18, HEAD = 26, LEFT = 70, RIGHT = 150, WIDTH = 1000;
const COLORS = ["#3b6fb6", "#d9822b", "#3c9a5f", "#9b59b6", "#c0392b", "#16a085",
                "#7f8c8d", "#b8860b"];

const state = { lanes: [], byId: {}, users: 0, delay: 1, axis: 1, offset: null, timer: 0 };
window.labResults = null;

function el(name, attrs, text) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

async function loadLanes() {
  const response = await fetch("/api/lanes");
  const { lanes } = await response.json();
  const box = document.getElementById("lanes");
  lanes.forEach((lane, i) => {
    const label = document.createElement("label");
    label.title = lane.explain;
    label.innerHTML = `<input type="checkbox" name="lane" value="${lane.id}" checked> ` +
      `${i + 1}. ${lane.title}`;
    box.appendChild(label);
  });
}

function now() {
  return state.offset === null ? 0 : performance.now() / 1000 - state.offset;
}

function seconds(value) {
  return value === null || value === undefined ? "…" : value.toFixed(2) + " s";
}

function draw() {
  const box = document.getElementById("timeline");
  const t = now();
  let ends = [state.axis];
  for (const lane of state.lanes) {
    for (const r of Object.values(lane.requests)) ends.push(r.arrived !== null ? r.arrived : t);
  }
  const axis = Math.max(...ends) * 1.02;
  const span = WIDTH - LEFT - RIGHT;
  const x = (s) => LEFT + (s / axis) * span;
  let y = 8;
  const svg = el("svg", { width: WIDTH, id: "timeline-svg" });
  // The shared time axis: a tick every "step" seconds.
  const step = axis > 20 ? 5 : axis > 8 ? 2 : axis > 3 ? 1 : axis > 1.5 ? 0.5 : 0.25;
  const axisY = y + 12;
  for (let s = 0; s <= axis; s += step) {
    svg.appendChild(el("line", { x1: x(s), x2: x(s), y1: axisY, y2: 10000, stroke: "#eee" }));
    svg.appendChild(el("text", { x: x(s), y: axisY - 2, "text-anchor": "middle",
                                 fill: "#777" }, `${+s.toFixed(2)} s`));
  }
  y = axisY + 8;
  for (const lane of state.lanes) {
    const done = lane.result;
    const total = done ? done.total : null;
    svg.appendChild(el("text", { x: 4, y: y + 16, class: "lane-title" }, lane.title));
    let summary = done ? `total ${seconds(total)} · ideal ${seconds(done.ideal)}`
                       : `ideal ${seconds(lane.ideal)}`;
    if (done && done.memory_bytes) {
      summary = `${(done.memory_bytes / 1048576).toFixed(0)} MiB in ${done.processes} ` +
        `process${done.processes === 1 ? "" : "es"} · ` + summary;
    }
    svg.appendChild(el("text", { x: WIDTH - 4, y: y + 16, "text-anchor": "end" }, summary));
    y += HEAD;
    const pids = [];
    for (let user = 0; user < state.users; user++) {
      const r = lane.requests[user];
      svg.appendChild(el("text", { x: 8, y: y + 13, fill: "#555" }, `user ${user + 1}`));
      if (r) {
        if (r.pid && !pids.includes(r.pid)) pids.push(r.pid);
        const end = r.arrived !== null ? r.arrived : (r.error ? r.sent : t);
        const color = r.error ? "#c00" : COLORS[Math.max(0, pids.indexOf(r.pid)) % COLORS.length];
        // The whole wait, light; then, once the answer is in, the served part solid on top.
        svg.appendChild(el("rect", {
          x: x(r.sent), y: y + 2, height: ROW - 5, rx: 2,
          width: Math.max(1, x(end) - x(r.sent)), fill: color, opacity: 0.3,
          "data-lane": lane.id, "data-user": user,
        }));
        if (r.arrived !== null && r.server_start !== null && r.server_end !== null) {
          const start = Math.max(r.sent, r.server_start), stop = Math.min(r.arrived, r.server_end);
          svg.appendChild(el("rect", {
            x: x(start), y: y + 2, height: ROW - 5, rx: 2,
            width: Math.max(1, x(stop) - x(start)), fill: color, class: "served",
          }));
        }
        const note = r.error ? `error: ${r.error}` :
          r.arrived !== null ? `${(r.arrived - r.sent).toFixed(2)} s` + (r.pid ? ` · pid ${r.pid}` : "") : "";
        svg.appendChild(el("text", { x: WIDTH - RIGHT + 8, y: y + 13, fill: "#555" }, note));
      }
      y += ROW;
    }
    if (done && done.detector) {
      const d = done.detector;
      const line = el("text", { x: 8, y: y + 14, class: "detector" },
        `blocking detector: ${d.file}:${d.line} in ${d.function}`);
      line.appendChild(el("title", {}, d.message));  // the detector's whole log line, on hover
      svg.appendChild(line);
      y += ROW + 2;
    } else if (lane.id === "asgi-blocking" && done) {
      svg.appendChild(el("text", { x: 8, y: y + 14, class: "detector" },
        "blocking detector: no report"));
      y += ROW + 2;
    }
    y += 8;
  }
  svg.setAttribute("height", y + 4);
  box.replaceChildren(svg);
}

function onEvent(event) {
  const status = document.getElementById("status");
  if (event.type === "starting") {
    status.textContent = "starting the lane servers…";
  } else if (event.type === "ready") {
    state.lanes = event.lanes.map((lane) => ({ id: lane.lane, title: lane.title,
                                              ideal: lane.ideal, requests: {}, result: null }));
    state.byId = Object.fromEntries(state.lanes.map((lane) => [lane.id, lane]));
    state.axis = Math.max(...event.lanes.map((lane) => lane.ideal), state.delay);
    status.textContent = "running…";
  } else if (event.type === "sent") {
    if (state.offset === null) state.offset = performance.now() / 1000 - event.t;
    state.byId[event.lane].requests[event.user] =
      { sent: event.t, arrived: null, pid: null, error: null };
  } else if (event.type === "arrived") {
    state.byId[event.lane].requests[event.request.user] = event.request;
  } else if (event.type === "lane") {
    state.byId[event.result.lane].result = event.result;
  } else if (event.type === "done") {
    for (const result of event.results) state.byId[result.lane].result = result;
    window.labResults = event.results;
    document.getElementById("timeline").dataset.results = JSON.stringify(event.results);
    status.textContent = "done";
  } else if (event.type === "error") {
    status.textContent = "error: " + event.error;
    window.labResults = { error: event.error };
  }
  draw();
}

async function run() {
  const button = document.getElementById("run");
  const status = document.getElementById("status");
  const users = document.getElementById("users").value;
  const params = new URLSearchParams({
    users, delay: document.getElementById("delay").value,
    threads: document.getElementById("threads").value,
    workers: document.getElementById("workers").value,
    lanes: [...document.querySelectorAll("input[name=lane]:checked")].map((i) => i.value).join(","),
  });
  Object.assign(state, { lanes: [], byId: {}, users: +users,
                         delay: +document.getElementById("delay").value, offset: null });
  window.labResults = null;
  document.getElementById("timeline").dataset.results = "";
  button.disabled = true;
  state.timer = setInterval(draw, 50);
  try {
    const response = await fetch("/api/run?" + params);
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      throw new Error(body.error || response.statusText);
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffered = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += decoder.decode(value, { stream: true });
      let newline;
      while ((newline = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (line) onEvent(JSON.parse(line));
      }
    }
  } catch (error) {
    status.textContent = "error: " + error.message;
    window.labResults = { error: error.message };
  } finally {
    clearInterval(state.timer);
    button.disabled = false;
    draw();
  }
}

document.getElementById("run").addEventListener("click", run);
loadLanes();
