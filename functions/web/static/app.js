// The Lightbox upload page: presigned POST uploads with progress, live status over SSE, gallery, detail.
// Open it as /?token=TOKEN (`python -m photolib.auth issue CLIENT_ID` prints one); the token is kept for this tab.
"use strict";

const TYPES = { jpg: "image/jpeg", jpeg: "image/jpeg", png: "image/png", webp: "image/webp", gif: "image/gif",
                tif: "image/tiff", tiff: "image/tiff", heic: "image/heic", heif: "image/heif" };
const STATUS = { "photo.uploaded": "queued", "photo.processing.started": "processing",
                 "photo.processing.completed": "completed", "photo.processing.failed": "failed" };
const $ = (id) => document.getElementById(id);
const cards = new Map();  // photo id -> card element

const token = (() => {
  const url = new URL(location.href);
  const given = url.searchParams.get("token");
  if (given) {
    sessionStorage.setItem("lightbox-token", given);
    url.searchParams.delete("token");  // keep it out of the address bar and history
    history.replaceState(null, "", url);
  }
  return given || sessionStorage.getItem("lightbox-token");
})();

function notice(text) { $("notice").textContent = text; $("notice").hidden = !text; }

async function api(path, options = {}) {
  const r = await fetch(path, { ...options, headers: { ...(options.headers || {}), Authorization: `Bearer ${token}` } });
  const body = r.status === 204 ? null : await r.json().catch(() => null);
  if (!r.ok) throw new Error(body?.error?.message || body?.message || `HTTP ${r.status}`);
  return body;
}

// --- cards -----------------------------------------------------------------------------------

function card(key, name) {
  let el = cards.get(key);
  if (el) return el;
  el = document.createElement("article");
  el.className = "card";
  el.innerHTML = `<div class="frame">waiting</div><div class="info"><div class="name"></div>
    <div class="status"></div><progress max="100" value="0" hidden></progress><div class="error" hidden></div></div>`;
  el.querySelector(".name").textContent = name;
  el.addEventListener("click", () => el.dataset.photoId && showDetail(el.dataset.photoId));
  $("gallery").prepend(el);
  cards.set(key, el);
  return el;
}

function setStatus(el, status, text) {
  el.dataset.status = status;
  el.querySelector(".status").textContent = text || status.replace("_", " ");
  el.classList.toggle("failed", status === "failed");
}

function fail(el, reason) {
  setStatus(el, "failed");
  const err = el.querySelector(".error");
  err.textContent = reason;
  err.hidden = false;
  el.querySelector("progress").hidden = true;
  if (!el.querySelector("img.thumb")) el.querySelector(".frame").textContent = "✕ not processed";
}

function showThumb(el, derivatives) {
  const thumb = derivatives.thumb_300 || derivatives.thumb_600 || derivatives.thumb_150;
  if (!thumb || el.querySelector("img.thumb")) return;
  const img = document.createElement("img");
  img.className = "thumb";
  img.alt = el.querySelector(".name").textContent;
  img.src = thumb.url;
  const frame = el.querySelector(".frame");
  frame.textContent = "";
  frame.append(img);
}

async function refresh(photoId) {
  const el = cards.get(photoId);
  if (!el) return;
  const record = await api(`/photos/${encodeURIComponent(photoId)}`);
  const photo = record.photo;
  if (photo.status === "failed") fail(el, photo.failure_reason || "processing failed");
  else setStatus(el, photo.status, photo.status === "processing" && photo.stage ? `processing: ${photo.stage}` : null);
  showThumb(el, record.derivatives);
}

// --- uploads ---------------------------------------------------------------------------------

function contentType(file) {
  return file.type || TYPES[file.name.split(".").pop().toLowerCase()] || "application/octet-stream";
}

async function upload(file) {
  const el = card(`local-${crypto.randomUUID()}`, file.name);
  const bar = el.querySelector("progress");
  setStatus(el, "requesting", "asking for an upload URL");
  let created;
  try {
    created = await api("/uploads", {
      method: "POST", headers: { "Content-Type": "application/json", "X-Session-Id": SESSION },
      body: JSON.stringify({ filename: file.name, content_type: contentType(file), size: file.size }),
    });
  } catch (e) {
    return fail(el, e.message);
  }
  const id = created.photo.id;
  el.dataset.photoId = id;
  cards.set(id, el);
  const form = new FormData();
  for (const [k, v] of Object.entries(created.upload.post.fields)) form.append(k, v);
  form.append("file", file);  // S3 wants the file last
  bar.hidden = false;
  setStatus(el, "uploading");
  el.querySelector(".frame").textContent = "uploading";
  const xhr = new XMLHttpRequest();
  xhr.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = (100 * e.loaded) / e.total; };
  xhr.onload = () => {
    bar.hidden = true;
    if (xhr.status >= 200 && xhr.status < 300) {
      if (el.dataset.status === "uploading") setStatus(el, "uploaded", "uploaded, waiting for processing");
      if (!el.querySelector("img.thumb") && el.dataset.status !== "failed") el.querySelector(".frame").textContent = "processing";
    } else {
      const reason = xhr.responseXML?.querySelector("Message")?.textContent || `storage refused it (HTTP ${xhr.status})`;
      // A 4xx is a refusal: nothing was stored. After a 5xx the outcome is unknown: reconcile decides.
      if (xhr.status < 500) abandon(id, el, `upload failed: ${reason}`); else fail(el, `upload failed: ${reason}`);
    }
  };
  // The bytes may have been stored and only the answer lost: the record stays for the pipeline or reconcile.
  xhr.onerror = () => fail(el, "upload failed: storage could not be reached");
  xhr.open("POST", created.upload.post.url);
  xhr.send(form);
}

// Storage refused the bytes: the record waiting for them goes now, not when reconcile expires
// it, so a reload shows no photo stuck at "pending". The card keeps the reason.
function abandon(id, el, reason) {
  fail(el, reason);
  cards.delete(id);  // so its photo.deleted event leaves the card in place
  delete el.dataset.photoId;  // nothing to open any more
  api(`/photos/${id}`, { method: "DELETE" }).catch(() => {});
}

const SESSION = crypto.randomUUID().replaceAll("-", "");

function wireDrop() {
  const drop = $("drop");
  const take = (files) => [...files].forEach(upload);
  $("files").addEventListener("change", (e) => { take(e.target.files); e.target.value = ""; });
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); take(e.dataTransfer.files); });
}

// --- live events -----------------------------------------------------------------------------

function listen() {
  // EventSource cannot send headers: the token goes in the query. It reconnects by itself,
  // sending Last-Event-ID, so nothing published while it was away is missed.
  const source = new EventSource(`/events/stream?access_token=${encodeURIComponent(token)}`);
  source.onopen = () => { $("live").textContent = "live"; $("live").classList.add("on"); };
  source.onerror = () => { $("live").textContent = "reconnecting…"; $("live").classList.remove("on"); };
  source.onmessage = (m) => {
    const event = JSON.parse(m.data);
    const el = cards.get(event.data.photo_id);
    if (!el) return;
    if (event.type === "photo.processing.failed") return fail(el, event.data.reason || "processing failed");
    if (event.type === "photo.deleted") { el.remove(); return; }
    if (event.type === "photo.stage.completed") {
      setStatus(el, "processing", `done: ${event.data.stage}`);
      if (event.data.stage === "thumbnails") refresh(event.data.photo_id);  // thumbnails appear as made
      return;
    }
    if (STATUS[event.type]) setStatus(el, STATUS[event.type]);
    if (event.type === "photo.processing.completed") refresh(event.data.photo_id);
  };
  // History was trimmed past where this page was: reload what it shows.
  source.addEventListener("reset", () => loadGallery());
}

async function loadGallery() {
  const page = await api("/photos?limit=50");
  for (const photo of page.items.reverse()) {
    const el = card(photo.id, photo.filename);
    el.dataset.photoId = photo.id;
    if (photo.status === "failed") fail(el, photo.failure_reason || "processing failed");
    else setStatus(el, photo.status);
    if (photo.status === "completed") refresh(photo.id);
  }
}

// --- detail ----------------------------------------------------------------------------------

async function showDetail(photoId) {
  const record = await api(`/photos/${encodeURIComponent(photoId)}`);
  $("detail-title").textContent = `${record.photo.filename} (${record.photo.status})`;
  const web = record.derivatives.web_jpeg || record.derivatives.thumb_600;
  $("detail-image").src = web ? web.url : "";
  $("detail-image").hidden = !web;
  const list = $("detail-renditions");
  list.textContent = "";
  const renditions = Object.entries(record.derivatives);
  if (record.original) renditions.unshift(["original", { ...record.original, content_type: record.photo.content_type }]);
  for (const [kind, d] of renditions) {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = d.url; a.target = "_blank"; a.textContent = kind;
    li.append(a, ` ${d.content_type || ""} ${d.width ? `${d.width}×${d.height}` : ""} ${d.size ? `${Math.round(d.size / 1024)} KB` : ""}`);
    list.append(li);
  }
  const table = $("detail-metadata");
  table.textContent = "";
  const rows = { status: record.photo.status, reason: record.photo.failure_reason, ...(record.metadata || {}) };
  for (const [k, v] of Object.entries(rows)) {
    if (v === null || v === undefined || typeof v === "object") continue;
    const tr = table.insertRow();
    tr.insertCell().textContent = k;
    tr.insertCell().textContent = String(v);
  }
  $("detail").showModal();
}

// --- start -----------------------------------------------------------------------------------

if (!token) {
  notice("This page needs a client token: open it as /?token=TOKEN (`python -m photolib.auth issue CLIENT_ID` prints one).");
  $("drop").hidden = true;
} else {
  wireDrop();
  listen();
  loadGallery().catch((e) => notice(`Could not load your photos: ${e.message}`));
}
