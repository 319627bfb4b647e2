"""A picture box for web pages: pan by dragging, zoom, full window on a click. Inline CSS and
JavaScript only (no library, no network), shared by the step-through player and the demos' page.

>>> zoom_box('<img class="bp-pic" src="graph.svg" alt="...">', href="graph.svg")
>>> ZOOM_CSS, ZOOM_SCRIPT          # once per page (repeating them is harmless)

In a box: drag to pan; the + and - buttons, the keys + and -, or Ctrl + wheel to zoom; "fit" shows
the whole picture; "1:1" its natural size. A click (without dragging) or the "full window"
button fills the window with the box (or with the element around it marked ``bp-fullable``);
there the wheel zooms, and Escape or a click on "close" returns. A picture starts at its natural
size when that fits, else at the larger of "fit to the width" and a readable 75 % (``min_scale``).
"""

from __future__ import annotations

import html

ZOOM_CSS = """
.bp-zoom { border: 1px solid #d1d5db; border-radius: 6px; background: #fff; margin: 0.6rem 0;
  display: flex; flex-direction: column; min-width: 0; }
.bp-zoom:focus { outline: 2px solid #93c5fd; }
.bp-zoom-bar { display: flex; flex-wrap: wrap; gap: 0.3rem; align-items: center; padding: 0.3rem 0.5rem;
  border-bottom: 1px solid #e5e7eb; background: #f9fafb; font: 13px system-ui, sans-serif; color: #4b5563; }
.bp-zoom-bar button { font: inherit; padding: 0.1rem 0.55rem; cursor: pointer; }
.bp-zoom-bar a { margin-left: 0.3rem; }
.bp-zoom-bar .bp-scale { min-width: 3.5em; text-align: right; }
.bp-zoom-bar .bp-hint { margin-left: auto; color: #6b7280; }
.bp-stage { position: relative; overflow: auto; height: 360px; }
.bp-stage[data-ready] { overflow: hidden; cursor: grab; touch-action: none; }
.bp-stage.bp-dragging { cursor: grabbing; }
.bp-stage > .bp-pic { position: absolute; left: 0; top: 0; transform-origin: 0 0;
  max-width: none !important; max-height: none !important; user-select: none; -webkit-user-drag: none; }
.bp-full { position: fixed !important; inset: 0; z-index: 10000; margin: 0 !important; border-radius: 0;
  background: #fff; overflow: auto; }
.bp-zoom.bp-full, .bp-full .bp-zoom { display: flex; flex-direction: column; }
.bp-full .bp-stage { height: auto !important; flex: 1 1 auto; min-height: 200px; }
"""

ZOOM_SCRIPT = r"""
(function () {
  if (window.bpZoom) { window.bpZoom.init(document); return; }
  const MIN = 0.05, MAX = 8;
  function setup(box) {
    box.dataset.ready = "1";
    const stage = box.querySelector(".bp-stage"), pic = stage.querySelector(".bp-pic");
    stage.dataset.ready = "1";  // from here the script pans (without it the box scrolls)
    const scaleText = box.querySelector(".bp-scale");
    const full = box.closest(".bp-fullable") || box;
    const READABLE = Number(box.dataset.minScale || 0);  // the least scale a picture starts at
    let s = 1, x = 0, y = 0, w = 0, h = 0;
    function natural() {
      if (pic.tagName.toLowerCase() === "img") return [pic.naturalWidth || 300, pic.naturalHeight || 150];
      return [pic.width.baseVal.value || 300, pic.height.baseVal.value || 150];
    }
    function apply() {
      pic.style.transform = "translate(" + x + "px," + y + "px) scale(" + s + ")";
      if (scaleText) scaleText.textContent = Math.round(s * 100) + " %";
    }
    function clampPan() {
      const W = stage.clientWidth, H = stage.clientHeight;
      x = w * s <= W ? (W - w * s) / 2 : Math.min(0, Math.max(W - w * s, x));
      y = h * s <= H ? (H - h * s) / 2 : Math.min(0, Math.max(H - h * s, y));
    }
    function zoomAt(factor, cx, cy) {
      const t = Math.min(MAX, Math.max(MIN, s * factor));
      x = cx - (cx - x) * t / s; y = cy - (cy - y) * t / s; s = t; clampPan(); apply();
    }
    function fitScale() { return Math.min(stage.clientWidth / w, stage.clientHeight / h, 1); }
    function start() {
      [w, h] = natural();
      if (pic.tagName.toLowerCase() !== "img") { pic.style.width = w + "px"; pic.style.height = h + "px"; }
      const byWidth = Math.min(1, stage.clientWidth / w);
      s = Math.max(byWidth, READABLE);
      if (!full.classList.contains("bp-full")) {
        const most = Number(box.dataset.maxHeight || 0.75);  // of the window's height
        stage.style.height = Math.max(160, Math.min(h * s + 2, window.innerHeight * most)) + "px";
      }
      x = 0; y = 0; clampPan(); apply();
    }
    function toggleFull(on) {
      if (on === undefined) on = !full.classList.contains("bp-full");
      const cw = stage.clientWidth / 2, ch = stage.clientHeight / 2;
      full.classList.toggle("bp-full", on);
      box.querySelectorAll("[data-zoom=full]").forEach(b => b.textContent = on ? "close" : "full window");
      if (!on) { start(); return; }
      // keep the point at the centre of the view in the centre, at a readable scale at least
      const px = (cw - x) / s, py = (ch - y) / s;
      s = Math.max(fitScale(), Math.min(1, Math.max(s, READABLE)));
      x = stage.clientWidth / 2 - px * s; y = stage.clientHeight / 2 - py * s;
      clampPan(); apply(); box.focus({preventScroll: true});
      box.dispatchEvent(new CustomEvent("bp-full"));
    }
    let drag = null;
    stage.addEventListener("pointerdown", e => {
      if (e.button !== 0) return;
      drag = {px: e.clientX, py: e.clientY, x0: x, y0: y, moved: false};
      stage.setPointerCapture(e.pointerId); stage.classList.add("bp-dragging");
    });
    stage.addEventListener("pointermove", e => {
      if (!drag) return;
      const dx = e.clientX - drag.px, dy = e.clientY - drag.py;
      if (Math.abs(dx) + Math.abs(dy) > 4) drag.moved = true;
      x = drag.x0 + dx; y = drag.y0 + dy; clampPan(); apply();
    });
    stage.addEventListener("pointerup", () => {
      if (!drag) return;
      stage.classList.remove("bp-dragging");
      const click = !drag.moved; drag = null;
      if (click && !full.classList.contains("bp-full")) toggleFull(true);
    });
    stage.addEventListener("wheel", e => {
      if (!(e.ctrlKey || full.classList.contains("bp-full"))) return;
      e.preventDefault();
      const r = stage.getBoundingClientRect();
      zoomAt(Math.exp(-e.deltaY * 0.002), e.clientX - r.left, e.clientY - r.top);
    }, {passive: false});
    const actions = {
      "in": () => zoomAt(1.25, stage.clientWidth / 2, stage.clientHeight / 2),
      "out": () => zoomAt(0.8, stage.clientWidth / 2, stage.clientHeight / 2),
      "fit": () => { s = fitScale(); clampPan(); apply(); },
      "one": () => zoomAt(1 / s, stage.clientWidth / 2, stage.clientHeight / 2),
      "full": () => toggleFull(),
    };
    box.querySelectorAll("[data-zoom]").forEach(b => b.addEventListener("click", e => {
      e.stopPropagation(); actions[b.dataset.zoom]();
    }));
    full.addEventListener("keydown", e => {
      const act = {"+": "in", "=": "in", "-": "out", "0": "fit"}[e.key];
      if (act) { actions[act](); e.preventDefault(); e.stopPropagation(); }
      if (e.key === "Escape" && full.classList.contains("bp-full")) { toggleFull(false); e.stopPropagation(); }
    });
    box.bpReveal = function (el) {
      // pan so that el (inside the picture) is in view, keeping the scale
      const r = el.getBoundingClientRect(), st = stage.getBoundingClientRect();
      if (r.left >= st.left && r.right <= st.right && r.top >= st.top && r.bottom <= st.bottom) return;
      x += st.left + st.width / 2 - (r.left + r.width / 2);
      y += st.top + st.height / 2 - (r.top + r.height / 2);
      clampPan(); apply();
    };
    if (pic.tagName.toLowerCase() === "img" && !pic.complete) pic.addEventListener("load", start); else start();
    // the box can change width without a window resize (a scroll bar appears, text fills a neighbour)
    if (window.ResizeObserver) new ResizeObserver(() => { if (w) { clampPan(); apply(); } }).observe(stage);
    else window.addEventListener("resize", () => { clampPan(); apply(); });
  }
  window.bpZoom = {
    setup: setup,
    init: function (root) { root.querySelectorAll(".bp-zoom:not([data-ready])").forEach(setup); },
  };
  window.bpZoom.init(document);
})();
"""


def zoom_box(
    picture_html: str, *, href: str | None = None, max_height: float = 0.75, min_scale: float = 0.75, tag: str = "div"
) -> str:
    """``picture_html`` (an ``<img class="bp-pic">`` or an ``<svg class="bp-pic">``) in a pan-and-zoom box.

    ``href``: where the picture's own file is (a URL), linked as "open the file". ``max_height``:
    the box's greatest height as a fraction of the window's. ``min_scale``: the least scale the
    picture starts at, so that a graph's labels stay readable (0 for a plot to fit the width).
    """
    link = f'<a href="{html.escape(href)}" target="_blank">open the file</a>' if href else ""
    return (
        f'<{tag} class="bp-zoom" tabindex="0" data-max-height="{max_height:g}" data-min-scale="{min_scale:g}">'
        '<div class="bp-zoom-bar">'
        '<button type="button" data-zoom="out" title="zoom out (-)">&minus;</button>'
        '<span class="bp-scale"></span>'
        '<button type="button" data-zoom="in" title="zoom in (+)">+</button>'
        '<button type="button" data-zoom="fit" title="the whole picture (0)">fit</button>'
        '<button type="button" data-zoom="one" title="natural size">1:1</button>'
        '<button type="button" data-zoom="full" title="fill the window (Escape returns)">full window</button>'
        f"{link}"
        '<span class="bp-hint">drag to pan &middot; Ctrl + wheel to zoom &middot; click for full window</span>'
        "</div>"
        f'<div class="bp-stage">{picture_html}</div>'
        f"</{tag}>"
    )


def image(src: str, alt: str) -> str:
    """An ``<img>`` for ``zoom_box`` (``src``: a URL)."""
    return f'<img class="bp-pic" src="{html.escape(src)}" alt="{html.escape(alt)}" draggable="false">'
