// Segment tool: video player, whole-video timeline, zoomed window; `z` starts/ends a segment.
const tool = document.getElementById("tool");
const classname = tool.dataset.class;
const player = document.getElementById("player");
const overview = document.getElementById("overview");
const zoom = document.getElementById("zoom");
const FRAME_STEP = 1 / 30;  // Shift+arrow step in seconds (browsers do not expose the fps)

let task = null;          // {video_id, version, duration, segments}
let segments = [];        // [[start, end], ...] seconds
let pending = null;       // start time of a segment being marked, or null
let selected = -1;        // index into segments, or -1
let windowSeconds = 10;   // width of the zoomed view
let busy = false;

function duration() {
  const d = player.duration;
  return Number.isFinite(d) && d > 0 ? d : (task && task.duration) || 0;
}

function zoomRange() {
  const d = duration();
  const w = Math.min(windowSeconds, d || windowSeconds);
  let t0 = player.currentTime - w / 2;
  t0 = Math.max(0, Math.min(t0, d - w));
  return [t0, t0 + w];
}

function place(el, from, to, range) {
  const span = range[1] - range[0];
  el.style.left = `${(100 * (from - range[0])) / span}%`;
  if (to !== null) el.style.width = `${(100 * (to - from)) / span}%`;
}

function drawTimeline(box, range, withTicks) {
  box.replaceChildren();
  if (!(range[1] > range[0])) return;
  if (withTicks) {
    const step = windowSeconds <= 4 ? 0.5 : windowSeconds <= 20 ? 1 : 5;
    for (let t = Math.ceil(range[0] / step) * step; t <= range[1]; t += step) {
      const tick = document.createElement("div");
      tick.className = "tick";
      tick.textContent = Number.isInteger(t) ? `${t}` : "";
      place(tick, t, null, range);
      box.append(tick);
    }
  }
  segments.forEach(([s, e], i) => {
    if (e < range[0] || s > range[1]) return;
    const seg = document.createElement("div");
    seg.className = "seg" + (i === selected ? " selected" : "");
    seg.dataset.index = String(i);
    place(seg, s, e, range);
    seg.addEventListener("click", (event) => { event.stopPropagation(); select(i); });
    box.append(seg);
  });
  if (pending !== null && pending >= range[0] && pending <= range[1]) {
    const line = document.createElement("div");
    line.className = "pending";
    place(line, pending, null, range);
    box.append(line);
  }
  const head = document.createElement("div");
  head.className = "playhead";
  place(head, player.currentTime, null, range);
  box.append(head);
}

function draw() {
  const d = duration();
  drawTimeline(overview, [0, d], false);
  const range = zoomRange();
  drawTimeline(zoom, range, true);
  document.getElementById("time").textContent = fmt(player.currentTime);
  document.getElementById("duration").textContent = d ? fmt(d) : "?";
  document.getElementById("window-info").textContent = `${fmt(range[0])}–${fmt(range[1])} s`;
  document.getElementById("pending-info").textContent =
    pending === null ? "" : `· segment started at ${fmt(pending)} s (press z to end)`;
  const list = document.getElementById("seglist");
  list.replaceChildren();
  segments.forEach(([s, e], i) => {
    const item = document.createElement("li");
    item.textContent = `${fmt(s)}–${fmt(e)}`;
    item.className = i === selected ? "selected" : "";
    item.addEventListener("click", () => select(i));
    list.append(item);
  });
  document.getElementById("delete").hidden = selected < 0;
}

function select(i) {
  selected = i === selected ? -1 : i;
  if (selected >= 0) player.currentTime = segments[selected][0];
  draw();
}

function markBoundary() {
  const t = player.currentTime;
  if (pending === null) {
    pending = t;
  } else {
    const [s, e] = pending <= t ? [pending, t] : [t, pending];
    pending = null;
    if (e - s > 1e-3) {
      segments.push([s, e]);
      segments.sort((a, b) => a[0] - b[0]);
      selected = -1;
    }
  }
  draw();
}

function deleteSelected() {
  if (selected < 0) return;
  segments.splice(selected, 1);
  selected = -1;
  draw();
}

function seekFromClick(box, range, event) {
  const rect = box.getBoundingClientRect();
  const x = (event.clientX - rect.left) / rect.width;
  player.currentTime = Math.max(0, Math.min(duration(), range[0] + x * (range[1] - range[0])));
}

async function loadNext() {
  task = null;
  const data = await api(`/api/segments/${encodeURIComponent(classname)}/next`);
  document.getElementById("empty").hidden = !data.done;
  tool.hidden = data.done;
  for (const id of ["submit", "reject", "reject-reason"]) {
    document.getElementById(id).disabled = data.done;
  }
  if (data.done) {
    document.getElementById("video-id").textContent = "";
    player.removeAttribute("src");
    return;
  }
  task = data.task;
  document.getElementById("seg-done").textContent = data.progress.done + data.progress.rejected;
  document.getElementById("seg-todo").textContent = data.progress.pending;
  segments = task.segments.map((s) => [s[0], s[1]]);
  pending = null;
  selected = -1;
  document.getElementById("video-id").textContent = task.video_id;
  tool.dataset.videoId = task.video_id;
  player.src = `/media/videos/${encodeURIComponent(task.video_id)}`;
  player.load();
  draw();
}

async function finish(action, body) {
  if (!task || busy) return;
  busy = true;
  try {
    await api(`/api/segments/${encodeURIComponent(classname)}/` +
              `${encodeURIComponent(task.video_id)}/${action}`, {version: task.version, ...body});
    say(action === "submit" ? `Saved ${segments.length} segments of ${task.video_id}.`
                            : `Rejected ${task.video_id} (${body.reason}).`, "ok");
    document.getElementById("reject-reason").value = "";
    await loadNext();
  } catch (e) {
    say(e.message, "error");
  } finally {
    busy = false;
  }
}

document.addEventListener("keydown", (event) => {
  if (!task || event.target.closest("input, select, textarea")) return;
  if (event.key === "z" || event.key === "Z") {
    event.preventDefault();
    markBoundary();
  } else if (event.key === "Escape") {
    pending = null;
    draw();
  } else if (event.key === "Delete" || event.key === "Backspace") {
    deleteSelected();
  } else if (event.key === " " && !event.target.closest("button, video")) {
    event.preventDefault();
    if (player.paused) player.play(); else player.pause();
  } else if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
    event.preventDefault();
    const step = (event.shiftKey ? FRAME_STEP : 1) * (event.key === "ArrowLeft" ? -1 : 1);
    player.currentTime = Math.max(0, Math.min(duration(), player.currentTime + step));
  }
});

overview.addEventListener("click", (e) => seekFromClick(overview, [0, duration()], e));
zoom.addEventListener("click", (e) => seekFromClick(zoom, zoomRange(), e));
document.getElementById("zoom-in").addEventListener("click", () => {
  windowSeconds = Math.max(2, windowSeconds / 2); draw();
});
document.getElementById("zoom-out").addEventListener("click", () => {
  windowSeconds = Math.min(600, windowSeconds * 2); draw();
});
document.getElementById("delete").addEventListener("click", deleteSelected);
document.getElementById("submit").addEventListener("click",
  () => finish("submit", {segments, duration: duration() || null}));
document.getElementById("reject").addEventListener("click", () => {
  const reason = document.getElementById("reject-reason").value;
  if (!reason) { say("Choose a reason to reject this video.", "error"); return; }
  finish("reject", {reason});
});
for (const name of ["timeupdate", "seeked", "loadedmetadata", "durationchange"]) {
  player.addEventListener(name, draw);
}
player.addEventListener("error", () => say(
  `This video does not play here; reject it with "not playable".`, "error"));
(function tick() {
  if (task && !player.paused) draw();
  requestAnimationFrame(tick);
})();
onSignedIn(() => loadNext().catch((e) => say(e.message, "error")));
