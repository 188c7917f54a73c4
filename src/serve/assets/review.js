// The review page's script: no framework, no network but this server. It only moves focus,
// filters the list, fills forms and sends them; every rule is the server's, which answers each
// change with the figure and the decisions as they now are.
"use strict";
(function () {
  const $ = (s, el) => (el || document).querySelector(s);
  const $$ = (s, el) => Array.from((el || document).querySelectorAll(s));
  const msg = $("#msg");
  const say = (text, bad) => {
    if (!msg) return;
    msg.textContent = text;
    msg.classList.toggle("bad", !!bad);
    msg.setAttribute("role", bad ? "alert" : "status");
  };

  // Region boxes: placed from their data (the policy forbids inline styles).
  const placeRegions = () => {
    $$(".region, .proposed, .weak").forEach((r) => {
      r.style.left = 100 * +r.dataset.x + "%";
      r.style.top = 100 * +r.dataset.y + "%";
      r.style.width = 100 * +r.dataset.w + "%";
      r.style.height = 100 * +r.dataset.h + "%";
    });
  };
  placeRegions();

  // Sending a form: as JSON for this script, the same route a form without script uses.
  const send = async (form, submitter) => {
    const data = new FormData(form, submitter || undefined);
    let res;
    try {
      res = await fetch(form.action, {
        method: "POST",
        headers: { Accept: "application/json" },
        body: new URLSearchParams(data),
        credentials: "same-origin",
      });
    } catch (e) {
      say("The server could not be reached; nothing was recorded.", true);
      return;
    }
    let j = null;
    try { j = await res.json(); } catch (e) { /* not JSON: a sign-in page */ }
    if (!j) {
      say("Your session has ended; sign in again (nothing was recorded).", true);
      return;
    }
    if (!j.ok) {
      say(j.message, true);
      return;
    }
    if (j.reload) {
      sessionStorage.setItem("disclose-msg", j.message);
      location.reload();
      return;
    }
    update(j);
    say(j.message, false);
  };

  const update = (j) => {
    $("#figure").textContent = j.figure;
    $("#undecided").textContent = j.undecided;
    $("#status").textContent = j.status;
    Object.entries(j.decisions).forEach(([mark, text]) => {
      const state = text === "undecided" ? "open" : /^(reject|release)/.test(text) ? "kept" : "out";
      $$('[data-dec="' + CSS.escape(mark) + '"]').forEach((el) => (el.textContent = text));
      const li = document.getElementById("it-" + mark);
      if (li) setState(li, state);
      $$('[data-mark="' + CSS.escape(mark) + '"].hl, .held[data-mark="' + CSS.escape(mark) + '"]').forEach((el) => setState(el, state));
    });
    filter();
  };
  const setState = (el, s) => {
    el.classList.remove("open", "out", "kept");
    el.classList.add(s);
  };

  $$("form.js").forEach((f) =>
    f.addEventListener("submit", (e) => {
      e.preventDefault();
      send(f, e.submitter);
    })
  );
  const saved = sessionStorage.getItem("disclose-msg");
  if (saved) {
    sessionStorage.removeItem("disclose-msg");
    say(saved, false);
  }

  // The list: filters by code, person, rule and state.
  const items = $$("li.item");
  const filter = () => {
    const c = $("#f-code") ? $("#f-code").value : "";
    const p = $("#f-person") ? $("#f-person").value : "";
    const r = $("#f-rule") ? $("#f-rule").value : "";
    const open = $("#f-open") ? $("#f-open").checked : false;
    let n = 0;
    items.forEach((li) => {
      const show =
        (!c || li.dataset.code === c) &&
        (!p || li.dataset.person === p) &&
        (!r || li.dataset.rule === r) &&
        (!open || li.classList.contains("open"));
      li.hidden = !show;
      if (show) n++;
    });
    const fc = $("#f-count");
    if (fc) fc.textContent = n + " of " + items.length + " shown";
  };
  ["#f-code", "#f-person", "#f-rule", "#f-open"].forEach((s) => {
    const el = $(s);
    if (el) el.addEventListener("change", filter);
  });
  filter();

  // The current mark: its list item and its place in the text.
  let current = null;
  const choose = (li, scrollText) => {
    if (!li) return;
    $$(".current").forEach((el) => el.classList.remove("current"));
    current = li;
    li.classList.add("current");
    li.focus({ preventScroll: true });
    li.scrollIntoView({ block: "nearest" });
    const at = document.getElementById("hl-" + li.dataset.mark);
    if (at) {
      const d = at.closest("details");
      if (d) d.open = true;
      $$('[data-mark="' + CSS.escape(li.dataset.mark) + '"].hl').forEach((el) => el.classList.add("current"));
      at.classList.add("current");
      if (scrollText) at.scrollIntoView({ block: "center" });
    }
  };
  const step = (by) => {
    const vis = items.filter((li) => !li.hidden);
    if (!vis.length) return;
    const i = current ? vis.indexOf(current) : -1;
    const next = vis[Math.max(0, Math.min(vis.length - 1, i < 0 ? 0 : i + by))];
    choose(next, true);
  };
  document.addEventListener("click", (e) => {
    const g = e.target.closest(".goto, mark.hl.listed, .held");
    if (!g) return;
    const li = document.getElementById("it-" + g.dataset.mark);
    if (!li) return;
    if (g.tagName === "A") e.preventDefault();
    choose(li, !g.classList.contains("hl") && !g.classList.contains("held"));
  });
  items.forEach((li) => li.addEventListener("focusin", () => { if (current !== li) choose(li, false); }));

  const decideCurrent = (verdict) => {
    if (!current) return say("Choose a mark first (j/k).", true);
    const f = $("form.decide", current);
    const b = f && f.querySelector('button[value="' + verdict + '"]');
    if (!b) return say("That decision does not apply to this item.", true);
    if (verdict !== "accept" && !f.querySelector(".why").value.trim()) {
      f.querySelector(".why").focus();
      return say("Say why first, then press the button (or Enter).", true);
    }
    send(f, b);
  };
  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA")) return;
    if (e.key === "j") { step(1); e.preventDefault(); }
    else if (e.key === "k") { step(-1); e.preventDefault(); }
    else if (e.key === "a") { decideCurrent("accept"); e.preventDefault(); }
    else if (e.key === "r") { decideCurrent("reject"); e.preventDefault(); }
  });

  // Words selected in a record's text fill the "add a mark" form.
  const addText = $("#add-text");
  const addRecord = $("#add-record");
  document.addEventListener("selectionchange", () => {
    const sel = document.getSelection();
    if (!sel || sel.isCollapsed || !addText) return;
    const node = sel.anchorNode && (sel.anchorNode.nodeType === 1 ? sel.anchorNode : sel.anchorNode.parentElement);
    const text = node && node.closest(".text");
    const owner = text && text.closest("[data-record]");
    if (!owner) return;
    const words = sel.toString().replace(/\s+/g, " ").trim();
    if (!words) return;
    addText.value = words;
    if (addRecord) addRecord.value = owner.dataset.record;
  });

  // A box drawn on a page image fills that page's region form.
  $$(".pagebox").forEach((box) => {
    const fig = box.closest("figure");
    const form = $("form.add-region", fig);
    const drawn = $(".drawn", box);
    let start = null;
    const at = (e) => {
      const r = box.getBoundingClientRect();
      return [Math.min(1, Math.max(0, (e.clientX - r.left) / r.width)), Math.min(1, Math.max(0, (e.clientY - r.top) / r.height))];
    };
    const show = (a, b) => {
      drawn.hidden = false;
      drawn.style.left = 100 * Math.min(a[0], b[0]) + "%";
      drawn.style.top = 100 * Math.min(a[1], b[1]) + "%";
      drawn.style.width = 100 * Math.abs(a[0] - b[0]) + "%";
      drawn.style.height = 100 * Math.abs(a[1] - b[1]) + "%";
    };
    box.addEventListener("pointerdown", (e) => {
      start = at(e);
      box.setPointerCapture(e.pointerId);
      show(start, start);
      e.preventDefault();
    });
    box.addEventListener("pointermove", (e) => { if (start) show(start, at(e)); });
    box.addEventListener("pointerup", (e) => {
      if (!start) return;
      const end = at(e);
      const a = start;
      start = null;
      if (Math.abs(a[0] - end[0]) < 0.005 || Math.abs(a[1] - end[1]) < 0.005) { drawn.hidden = true; return; }
      form.x1.value = Math.min(a[0], end[0]).toFixed(5);
      form.y1.value = Math.min(a[1], end[1]).toFixed(5);
      form.x2.value = Math.max(a[0], end[0]).toFixed(5);
      form.y2.value = Math.max(a[1], end[1]).toFixed(5);
      form.hidden = false;
      form.why.focus();
    });
    const cancel = $(".cancel", form);
    if (cancel) cancel.addEventListener("click", () => { form.hidden = true; drawn.hidden = true; });
  });
})();
