// py-async-graph --format html: the explorer's code (inlined into
// explorer.html at build time).  Why lazy: a million tasks cannot be a
// million DOM nodes, so only the root groups are drawn at first and a
// node's frames and kid groups are made when it is opened; the indexes
// (kids, roots, search text) are typed arrays built once.  The rules are the
// C core's (group.c, format_tree.c, format_graph.c): kids of a task are the
// tasks that name it among their awaiters, in snapshot order; siblings of
// one shape fold into one node "name-* ×N"; running tasks and cycle members
// never fold (their shape is -1); graph text is format_call_graph()'s.
"use strict";
(function () {
  const T0 = performance.now();
  const D = JSON.parse(document.getElementById("pag-data").textContent);
  const S = D.s, F = D.f, NAME = D.name, FL = D.fl, SH = D.sh, n = NAME.length;
  const IDS = D.id.split(" "), SF = D.sf, AF = D.af;
  if (!D.id_hex) { // base-36 differences (format_html.c), exact below 2^53
    let v = 0;
    for (let i = 0; i < IDS.length; i++) {
      const d = IDS[i];
      v += d[0] === "-" ? -parseInt(d.slice(1), 36) : parseInt(d, 36);
      IDS[i] = "0x" + v.toString(16);
    }
  }
  // per node: its frames SF[so[i] .. so[i+1]) and awaiters AF[ao[i] .. ao[i+1])
  const so = new Int32Array(n + 1), ao = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) { so[i + 1] = so[i] + D.sn[i]; ao[i + 1] = ao[i] + D.an[i]; }
  const stackOf = (i) => SF.slice(so[i], so[i + 1]);
  const nframes = (i) => so[i + 1] - so[i];
  const inner = (i) => SF[so[i]];
  const MAX_KIDS = 200, MAX_HITS = 200;
  const $ = (id) => document.getElementById(id);
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };

  // ---- indexes ----
  const off = new Int32Array(n + 1), stamp = new Int32Array(n).fill(-1);
  for (let c = 0; c < n; c++)
    for (let q = ao[c]; q < ao[c + 1]; q++) { const a = AF[q]; if (stamp[a] !== c) { stamp[a] = c; off[a + 1]++; } }
  for (let v = 0; v < n; v++) off[v + 1] += off[v];
  const kids = new Int32Array(off[n]), pos = off.slice(0, n);
  stamp.fill(-1);
  for (let c = 0; c < n; c++)
    for (let q = ao[c]; q < ao[c + 1]; q++) { const a = AF[q]; if (stamp[a] !== c) { stamp[a] = c; kids[pos[a]++] = c; } }
  const onCycle = new Uint8Array(n);
  for (const cy of D.c) for (const i of cy) onCycle[i] = 1;
  const running = (i) => (FL[i] & 2) !== 0;

  // Roots: tasks nobody's kid, in order; then, for what no root reaches
  // (a cycle), its first task, as the tree does.
  const roots = [], reached = new Uint8Array(n), isKid = new Uint8Array(n);
  for (let q = 0; q < kids.length; q++) isKid[kids[q]] = 1;
  const reach = (r) => {
    const st = [r];
    reached[r] = 1;
    while (st.length) {
      const u = st.pop();
      for (let q = off[u]; q < off[u + 1]; q++) if (!reached[kids[q]]) { reached[kids[q]] = 1; st.push(kids[q]); }
    }
  };
  for (let pass = 0; pass < 2; pass++)
    for (let v = 0; v < n; v++) {
      if (reached[v] || (pass === 0 && isKid[v])) continue;
      roots.push(v);
      reach(v);
    }

  // ---- text ----
  const fmtCount = (v) => v.toLocaleString("en-US");
  const frameText = (k) => {
    const fn = S[F[4 * k]], file = S[F[4 * k + 1]], line = F[4 * k + 2];
    return line >= 0 ? fn + " " + file + ":" + line : fn + " " + file;
  };
  const taskName = (i) => (NAME[i] === null ? IDS[i] : NAME[i]);
  const pattern = (members) => {
    const first = NAME[members[0]] || "";
    let pre = first.length, suf = first.length, min = first.length, differ = false;
    for (const m of members) {
      const s = NAME[m] || "";
      let p = 0, q = 0;
      while (p < pre && p < s.length && s[p] === first[p]) p++;
      while (q < suf && q < s.length && s[s.length - 1 - q] === first[first.length - 1 - q]) q++;
      if (s !== first) differ = true;
      pre = p; suf = q; min = Math.min(min, s.length);
    }
    if (!differ) return first;
    if (pre + suf > min) suf = min - pre;
    const digit = (c) => c >= "0" && c <= "9";
    while (pre > 0 && digit(first[pre - 1])) pre--;
    while (suf > 0 && digit(first[first.length - suf])) suf--;
    return first.slice(0, pre) + "*" + first.slice(first.length - suf);
  };
  const groupLabel = (g) => {
    const i = g[0];
    if (g.length === 1) return FL[i] & 1 ? "(T) " + taskName(i) : "(F) Future " + IDS[i];
    return FL[i] & 1 ? "(T) " + (NAME[i] === null ? "0x*" : pattern(g)) : "(F) Future";
  };
  // Python's repr of a str, as graph prints names and files.
  const pyrepr = (s) => {
    const q = s.includes("'") && !s.includes('"') ? '"' : "'";
    let r = q;
    for (const ch of s) {
      const c = ch.codePointAt(0);
      if (ch === "\\") r += "\\\\";
      else if (ch === q) r += "\\" + q;
      else if (ch === "\n") r += "\\n";
      else if (ch === "\r") r += "\\r";
      else if (ch === "\t") r += "\\t";
      else if (c < 0x20 || (c >= 0x7f && c < 0xa0)) r += "\\x" + c.toString(16).padStart(2, "0");
      else if (c >= 0xd800 && c <= 0xdfff) r += "\\u" + c.toString(16);
      else r += ch;
    }
    return r + q;
  };
  const TAGS = ["", "async ", "async generator ", "generator "];
  const header = (i) => (FL[i] & 1
    ? "* Task(name=" + (NAME[i] === null ? "None" : pyrepr(NAME[i])) + ", id=" + IDS[i] + ")"
    : "* Future(id=" + IDS[i] + ")");
  // format_graph.c's render_one: the task, its call stack, its awaiters.
  const graphText = (root) => {
    const out = [], onpath = new Set(), ind = (l) => "    ".repeat(l);
    const visit = (i, level) => {
      const pad = ind(level);
      if (D.e[i] !== undefined) out.push(pad + "  + Error: " + D.e[i]);
      const st = running(i) && D.rs[i] ? D.rs[i] : stackOf(i);
      if (st.length) out.push(pad + "  + Call stack:");
      for (const k of st) {
        const line = F[4 * k + 2] >= 0 ? String(F[4 * k + 2]) : "None";
        out.push(pad + "  |   File " + pyrepr(S[F[4 * k + 1]]) + ", line " + line + ", in " +
                 TAGS[F[4 * k + 3]] + S[F[4 * k]] + "()");
      }
      if (ao[i + 1] > ao[i]) out.push(pad + "  + Awaited by:");
      onpath.add(i);
      for (const a of AF.slice(ao[i], ao[i + 1])) {
        out.push(ind(level + 1) + header(a));
        if (onpath.has(a)) out.push(ind(level + 1) + "  + (cycle: awaits itself through this chain \u2014 possible deadlock)");
        else if (out.length < 20000) visit(a, level + 1);
      }
      onpath.delete(i);
    };
    out.push(header(root));
    visit(root, 0);
    return out.join("\n");
  };
  const showGraph = (i) => { $("graph").textContent = graphText(i); $("graph").dataset.task = IDS[i]; };

  // ---- the tree ----
  // Fold a sibling list by shape, in order of first appearance.
  const fold = (list) => {
    const groups = [], at = new Map();
    for (const k of list) {
      const s = SH[k];
      if (s >= 0 && at.has(s)) { groups[at.get(s)].push(k); continue; }
      if (s >= 0) at.set(s, groups.length);
      groups.push([k]);
    }
    return groups;
  };
  const mark = (e, i) => {
    if (onCycle[i]) e.classList.add("cycle");
    if (running(i)) e.classList.add("running");
  };
  const node = (g, path) => {
    const i = g[0], box = el("div", "node"), row = el("div", "row");
    const tog = el("span", "tog", ""), lbl = el("span", "lbl", groupLabel(g));
    lbl.dataset.task = IDS[i];
    mark(lbl, i);
    row.append(tog, lbl);
    if (g.length > 1) row.append(el("span", "count", " \u00d7" + fmtCount(g.length)));
    box.append(row);
    lbl.addEventListener("click", () => showGraph(i));
    if (path.has(i)) {
      row.append(el("span", "cycle", " [cycle]"));
      return box;
    }
    if (!nframes(i) && off[i] === off[i + 1]) return box;
    tog.textContent = "\u25b8";
    let kidsBox = null;
    tog.addEventListener("click", () => {
      if (kidsBox) {
        kidsBox.hidden = !kidsBox.hidden;
        tog.textContent = kidsBox.hidden ? "\u25b8" : "\u25be";
        return;
      }
      kidsBox = el("div", "kids");
      const st = stackOf(i);
      for (let f = st.length - 1; f >= 0; f--) kidsBox.append(el("div", "frame", frameText(st[f])));
      const sub = new Set(path).add(i);
      appendGroups(kidsBox, fold(Array.from(kids.subarray(off[i], off[i + 1]))), sub);
      box.append(kidsBox);
      tog.textContent = "\u25be";
    });
    return box;
  };
  const appendGroups = (parent, groups, path, from = 0) => {
    const end = Math.min(groups.length, from + MAX_KIDS);
    for (let k = from; k < end; k++) parent.append(node(groups[k], path));
    if (end < groups.length) {
      const more = el("div", "more", "\u2026 " + fmtCount(groups.length - end) + " more");
      more.addEventListener("click", () => { more.remove(); appendGroups(parent, groups, path, end); });
      parent.append(more);
    }
  };

  // ---- header, alerts, search ----
  let tasks = 0, nrun = 0;
  for (let i = 0; i < n; i++) { if (FL[i] & 1) tasks++; if (running(i)) nrun++; }
  const pl = (v, w) => fmtCount(v) + " " + w + (v === 1 ? "" : "s");
  $("head").textContent = "py-async-graph: " + pl(tasks, "task") + (n > tasks ? ", " + pl(n - tasks, "future") : "") +
    ", " + pl(D.threads, "thread") + ", " + pl(D.loops, "loop") + ", " + pl(D.c.length, "cycle") + ", " + nrun + " running" +
    (D.source && D.source.pid ? " \u2014 " + D.source.kind + " pid " + D.source.pid : "");
  for (const cy of D.c)
    $("alerts").append(el("div", "cycle", "possible deadlock: await cycle: " + cy.map(taskName).join(" \u2192 ")));
  for (let i = 0; i < n; i++) {
    if (!running(i)) continue;
    const st = D.rs[i] || stackOf(i);
    const a = el("div", "running", "running: " + taskName(i) + (st.length ? " at " + frameText(st[0]) : ""));
    a.dataset.task = IDS[i];
    a.addEventListener("click", () => showGraph(i));
    $("alerts").append(a);
  }
  let hay = null; // per frame: "function file", lower case, made on the first search
  const search = (q) => {
    const res = $("results");
    res.textContent = "";
    if (q.length < 2) { $("nhits").textContent = ""; return; }
    q = q.toLowerCase();
    if (!hay) { hay = []; for (let k = 0; k < F.length / 4; k++) hay.push((S[F[4 * k]] + " " + S[F[4 * k + 1]]).toLowerCase()); }
    let hits = 0;
    for (let i = 0; i < n; i++) {
      let ok = NAME[i] !== null && NAME[i].toLowerCase().includes(q);
      for (let f = so[i]; !ok && f < so[i + 1]; f++) ok = hay[SF[f]].includes(q);
      if (!ok) continue;
      if (hits++ < MAX_HITS) {
        const h = el("div", "hit", groupLabel([i]) + (nframes(i) ? "  " + frameText(inner(i)) : ""));
        h.dataset.task = IDS[i];
        mark(h, i);
        h.addEventListener("click", () => showGraph(i));
        res.append(h);
      }
    }
    $("nhits").textContent = fmtCount(hits) + (hits === 1 ? " task" : " tasks") + (hits > MAX_HITS ? " (first " + MAX_HITS + " shown)" : "");
  };
  let timer = 0;
  $("search").addEventListener("input", (ev) => { clearTimeout(timer); timer = setTimeout(() => search(ev.target.value), 150); });

  appendGroups($("tree"), fold(roots), new Set());
  document.body.dataset.readyMs = String(Math.round(performance.now()));
  document.body.dataset.scriptMs = String(Math.round(performance.now() - T0));
  document.body.dataset.ready = "1";
})();
