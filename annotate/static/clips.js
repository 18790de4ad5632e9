// Clip tool: a page of clips for one class; click / Space / Enter flips green <-> red.
const grid = document.getElementById("grid");
const classname = grid.dataset.class;
const pageSize = parseInt(grid.dataset.pageSize, 10);
let page = null;  // {page_id, clips}
let busy = false;
let renewTimer = null;

// The server leases a page's clips to us; renew while the page is open (a third of the
// lease, so one lost request does not lose the page).
function keepLease(data) {
  clearInterval(renewTimer);
  renewTimer = setInterval(async () => {
    if (!page || page.page_id !== data.page_id) return;
    try {
      await api(`/api/pages/${data.page_id}/renew`);
    } catch (e) {
      say(e.message, "error");
    }
  }, (1000 * data.lease_seconds) / 3);
}

function setLabel(tile, label) {
  tile.dataset.label = String(label);
  tile.classList.toggle("pos", label === 1);
  tile.classList.toggle("neg", label === -1);
  tile.setAttribute("aria-checked", label === 1 ? "true" : "false");
  tile.querySelector(".tag").textContent = label === 1 ? "positive" : "negative";
}

function flip(tile) { setLabel(tile, tile.dataset.label === "1" ? -1 : 1); }

// A clip no shard holds (e.g. from an imported CSV) loops its span of the source video.
function videoPreview(clip) {
  const video = document.createElement("video");
  video.muted = true;
  video.playsInline = true;
  video.preload = "metadata";
  video.src = `/media/videos/${encodeURIComponent(clip.video_id)}#t=${clip.start},${clip.end}`;
  video.addEventListener("loadedmetadata", () => {
    video.currentTime = clip.start;
    video.play().catch(() => {});
  });
  video.addEventListener("timeupdate", () => {
    if (video.currentTime >= clip.end || video.paused) {
      video.currentTime = clip.start;
      video.play().catch(() => {});
    }
  });
  return video;
}

function tileFor(clip) {
  const tile = document.createElement("div");
  tile.className = "clip";
  tile.tabIndex = 0;
  tile.setAttribute("role", "checkbox");
  tile.dataset.clipId = clip.clip_id;
  tile.title = `${clip.clip_id}`;
  const preview = document.createElement("div");
  preview.className = "preview";
  if (clip.preview_frames > 0) {
    addStrip(preview, `/media/clips/${encodeURIComponent(clip.clip_id)}/preview.jpg`,
             clip.preview_frames);
  } else if (clip.has_video) {
    preview.append(videoPreview(clip));
  } else {
    preview.classList.add("none");
    preview.textContent = "no preview";
  }
  const caption = document.createElement("div");
  caption.className = "caption";
  caption.innerHTML = `<span></span><span class="tag"></span>`;
  caption.firstChild.textContent = `${clip.video_id} ${clip.start.toFixed(1)}–${clip.end.toFixed(1)} s`;
  tile.append(preview, caption);
  setLabel(tile, clip.label);
  tile.addEventListener("click", () => flip(tile));
  tile.addEventListener("keydown", (event) => {
    if (event.key === " " || event.key === "Enter") {
      event.preventDefault();
      flip(tile);
    }
  });
  return tile;
}

function showProgress(progress) {
  document.getElementById("reviewed").textContent = progress.reviewed;
  document.getElementById("total").textContent = progress.total;
}

async function loadPage() {
  page = null;
  clearInterval(renewTimer);
  grid.replaceChildren();
  const data = await api(`/api/clips/${encodeURIComponent(classname)}/pages`, {size: pageSize});
  showProgress(data.progress);
  document.getElementById("empty").hidden = data.page_id !== null;
  document.getElementById("submit").disabled = data.page_id === null;
  if (data.page_id === null) return;
  page = data;
  keepLease(data);
  for (const clip of data.clips) grid.append(tileFor(clip));
  grid.dataset.pageId = data.page_id;
  grid.firstChild.focus();
}

async function submitPage() {
  if (!page || busy) return;
  busy = true;
  const labels = {};
  for (const tile of grid.querySelectorAll(".clip")) {
    labels[tile.dataset.clipId] = parseInt(tile.dataset.label, 10);
  }
  try {
    const result = await api(`/api/pages/${page.page_id}/submit`, {labels});
    say(`Saved ${result.saved} clips.`, "ok");
    await loadPage();
  } catch (e) {
    say(e.message, "error");
  } finally {
    busy = false;
  }
}

async function toggleGuideline() {
  const panel = document.getElementById("guideline");
  const button = document.getElementById("guideline-button");
  if (!panel.hidden) {
    panel.hidden = true;
    button.setAttribute("aria-expanded", "false");
    return;
  }
  try {
    const response = await fetch(`/api/guidelines/${encodeURIComponent(classname)}`);
    const g = await response.json();
    if (!response.ok) throw new Error(g.error);
    document.getElementById("guideline-text").textContent = g.definition;
    for (const [id, clips] of [["guideline-pos", g.positives], ["guideline-neg", g.hard_negatives]]) {
      const box = document.getElementById(id);
      box.replaceChildren();
      for (const clip of clips) {
        const preview = document.createElement("div");
        preview.className = "preview";
        preview.title = clip.clip_id;
        if (clip.preview_frames > 0) {
          addStrip(preview, `/media/clips/${encodeURIComponent(clip.clip_id)}/preview.jpg`,
                   clip.preview_frames);
        } else {
          preview.textContent = clip.clip_id;
        }
        box.append(preview);
      }
      if (!clips.length) box.textContent = "none";
    }
  } catch (e) {
    document.getElementById("guideline-text").textContent = `No guideline: ${e.message}`;
  }
  panel.hidden = false;
  button.setAttribute("aria-expanded", "true");
}

document.getElementById("submit").addEventListener("click", submitPage);
document.getElementById("guideline-button").addEventListener("click", toggleGuideline);
onSignedIn(() => loadPage().catch((e) => say(e.message, "error")));
