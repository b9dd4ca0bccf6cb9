// hasm explorer: the page reads the data hasm embedded (hasm/page/data.py) and never applies a
// rule itself: every step it offers was computed by hasm's core and written into the data.
// Every string from the spec or a trace is set as text, never parsed as markup.
"use strict";
(function () {
  const DATA = JSON.parse(document.getElementById("hasm-data").textContent);
  const SPEC = DATA.spec;
  const BEYOND_STATES = -1;
  const BEYOND_FAULTS = -2;
  const app = document.getElementById("app");
  // Each redraw counts itself on the page (data-renders), so a test waits for a redraw rather
  // than for a time.
  let renders = 0;
  function redrawn() {
    renders += 1;
    app.setAttribute("data-renders", String(renders));
  }

  function answerWords(yes) {
    // An answer to the readings in words: each reading yes or no, in the spec's order.
    if (!SPEC.readings.length) return "the spec has no readings";
    return SPEC.readings.map((r) => r.id + " " + (yes.includes(r.id) ? "yes" : "no")).join(", ");
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v);
    }
    for (const c of children) if (c !== null && c !== undefined) node.append(c);
    return node;
  }

  function secs(t) {
    // The core's times are seconds; show them as hasm's reports do (no trailing zeros).
    return Number.isInteger(t) ? String(t) : String(Math.round(t * 1000) / 1000);
  }

  function stateLabel(id) {
    return SPEC.states[id] ? SPEC.states[id].label : id;
  }

  // -- the diagram ------------------------------------------------------------------------------
  let diagram = null;
  function diagramPanel() {
    const box = el("section", { id: "diagram", class: "panel" }, el("h2", { text: "Overview diagram" }));
    if (DATA.svg === null) {
      box.append(el("p", { id: "no-diagram", class: "note",
        text: "No diagram: graphviz's dot was not installed when this page was made " +
              "(apt-get install graphviz, then run hasm explorer again). Everything else works." }));
      return box;
    }
    const parsed = new DOMParser().parseFromString(DATA.svg, "image/svg+xml");
    diagram = document.importNode(parsed.documentElement, true);
    diagram.removeAttribute("width");
    diagram.removeAttribute("height");
    box.append(el("p", { class: "note",
      text: "The states of the two nodes are marked: first node solid, second node dashed." }), diagram);
    return box;
  }

  function highlight(sides) {
    // sides: for each node, the state ids to mark (several when a trace leaves it open).
    if (diagram === null) return;
    for (const g of diagram.querySelectorAll("g.node")) {
      const title = g.querySelector("title");
      const id = title ? title.textContent : "";
      g.classList.toggle("hl0", sides[0].includes(id));
      g.classList.toggle("hl1", sides[1].includes(id));
    }
  }

  // -- explorer mode ----------------------------------------------------------------------------
  function explorer() {
    const X = DATA.explorer;
    const nodes = X.nodes;
    let shownTime = null;

    function walk(start, path) {
      // The configurations along `path` (edge indices from `start`); stops at a bad index.
      const seen = [start];
      let beyond = null;
      for (let i = 0; i < path.length; i++) {
        const c = X.configs[seen[seen.length - 1]];
        const k = path[i];
        if (!(k >= 0 && 2 * k + 1 < c.e.length) || beyond !== null) return { seen, path: path.slice(0, i), beyond };
        const target = c.e[2 * k + 1];
        if (target < 0) { beyond = { step: c.e[2 * k], kind: target }; continue; }
        seen.push(target);
      }
      return { seen, path, beyond };
    }

    function readHash() {
      // `#a=K&p=I.J...`: the answer to the readings (an index into X.answers) and the steps
      // taken from its start. A link without `a=` is the default answer's; one naming an answer
      // this page does not have falls back to the default, saying so (`unknown`).
      const m = /^#(?:a=([^&]*)&)?p=([0-9.]*)$/.exec(location.hash);
      if (!m) {
        const a = location.hash.startsWith("#a=") ? location.hash.slice(3).split("&")[0] : null;
        return { answer: 0, path: [], unknown: a };
      }
      let answer = 0;
      let unknown = null;
      if (m[1] !== undefined) {
        const k = /^[0-9]+$/.test(m[1]) ? Number(m[1]) : NaN;
        if (k >= 0 && k < X.answers.length) answer = k;
        else unknown = m[1];
      }
      const path = unknown !== null || m[2] === "" ? [] : m[2].split(".").map(Number);
      return { answer, path, unknown };
    }

    // A click renders at once (a test or a person may act again before hashchange fires); the
    // hashchange of that same hash then finds it rendered. Back, reload and links render there.
    let rendered = null;
    let answer = 0;
    function go(path, to) {
      const a = to === undefined ? answer : to;
      location.hash = "#a=" + a + "&p=" + path.join(".");
      render();
    }

    function render() {
      rendered = location.hash;
      const asked = readHash();
      answer = asked.answer;
      const start = X.starts[answer];
      const { seen, path, beyond } = walk(start, asked.path);
      const here = seen[seen.length - 1];
      const c = X.configs[here];
      app.replaceChildren();
      app.append(el("h1", { text: "Presence Redundancy Group: " + SPEC.title }));
      app.append(readingsPanel(asked.unknown));
      const top = el("section", { class: "panel", id: "group" });
      const clock = el("span", { id: "clock", "data-t": String(c.t) });
      top.append(el("p", { class: "clock" }, "Virtual clock: t = ", clock, " s"));
      count(clock, c.t);
      top.append(el("p", { id: "position", text: "Configuration " + here + " of " + X.configs.length +
        ", " + path.length + " step(s) from the start (" + X.bounds.initial + ", " +
        X.bounds.users + " user(s) per node; readings: " + answerWords(X.answers[answer]) + ")",
        "data-answer": String(answer), "data-start": String(start) }));
      const table = el("table", { class: "nodes" });
      table.append(el("tr", {}, el("th", { text: "Node" }), el("th", { text: "State" }),
        el("th", { text: "Reason" }), el("th", { text: "Assigned users" }), el("th", { text: "Active users" }),
        el("th", { text: "Behind the page" })));
      c.n.forEach((v, i) => {
        const w = c.w[i];
        const world = [w[0] ? "up" : "down", w[1] ? "SRM running" : "SRM stopped"];
        if (w[2].length) world.push("stopped: " + w[2].join(", "));
        table.append(el("tr", { id: "node" + i },
          el("td", { text: nodes[i] }),
          el("td", { id: "node" + i + "-state", class: "state kind-" + (SPEC.states[v[0]] || {}).kind, text: stateLabel(v[0]) }),
          el("td", { id: "node" + i + "-reason", text: SPEC.reasons[v[1]] || v[1] }),
          el("td", { id: "node" + i + "-assigned", text: String(v[2]) }),
          el("td", { id: "node" + i + "-active", text: String(v[3]) }),
          el("td", { class: "world", text: world.join("; ") })));
      });
      top.append(table);
      top.append(el("p", { id: "group-facts", text: "High Availability " + (c.ha ? "enabled" : "disabled") +
        "; link between the nodes " + (c.link ? "up" : "down") +
        (c.p.length ? "; documented pair " + c.p.join(", ") : "; no documented pair (P1-P24) shows this") }));
      top.append(el("p", { id: "offered", text: "The page offers: " + (c.of.length ? c.of.join(", ") : "no administrator action") }));
      app.append(top);

      app.append(timersPanel(c));
      app.append(stepsPanel(c, path, beyond));
      app.append(diagramPanel());
      highlight([[c.n[0][0]], [c.n[1][0]]]);
      if (!X.complete) {
        app.append(el("p", { class: "note", id: "bound-note",
          text: "This page embeds the " + X.configs.length + " configurations nearest the start (an event or " +
                "an action counting as three steps of time, timers or re-logins), shared in turns among the " +
                X.answers.length + " answer(s) to the readings, with at most " +
                X.bounds.max_faults + " fault(s) at once. To go further: " + X.command }));
      }
      redrawn();
    }

    function readingsPanel(unknown) {
      // One choice per reading, yes or no; changing one restarts from that answer's start.
      const box = el("section", { class: "panel", id: "readings" },
        el("h2", { text: "Readings: Cisco's open questions, one answer from start to end" }));
      if (unknown !== null) {
        box.append(el("p", { id: "answer-note", class: "note warn",
          text: "The link asks for answer " + JSON.stringify(unknown) + ", which this page does not have: " +
                "showing the default answer (" + answerWords(X.answers[0]) + ")." }));
      }
      if (!SPEC.readings.length) {
        box.append(el("p", { text: "The spec has no readings: one starting point." }));
        return box;
      }
      const yes = X.answers[answer];
      const choose = () => {
        const picked = SPEC.readings.filter((r) => document.getElementById("reading-" + r.id).value === "yes")
          .map((r) => r.id).sort();
        const k = X.answers.findIndex((a) => a.join(" ") === picked.join(" "));
        go([], k < 0 ? 0 : k);
      };
      for (const r of SPEC.readings) {
        const select = el("select", { id: "reading-" + r.id, onchange: choose },
          el("option", { value: "no", text: "no" }), el("option", { value: "yes", text: "yes" }));
        select.value = yes.includes(r.id) ? "yes" : "no";
        box.append(el("p", { class: "reading", title: r.description },
          el("label", { for: "reading-" + r.id },
            el("code", { text: r.id }), ": " + r.meaning + (r.assumption ? " (assumption " + r.assumption + ") " : " ")),
          select));
      }
      const shared = X.answers.findIndex((a, k) => k !== answer && X.starts[k] === X.starts[answer]);
      if (shared >= 0) {
        box.append(el("p", { id: "answer-shared", class: "note", text: "With no users, a reading only whom a " +
          "node serves depends on changes nothing: this answer shows the configurations of " +
          answerWords(X.answers[Math.min(shared, answer)]) + "." }));
      }
      return box;
    }

    function count(span, t) {
      // The clock counts up to the new time, as time passes on the virtual clock.
      const from = shownTime === null || shownTime > t ? t : shownTime;
      shownTime = t;
      const start = performance.now();
      const frame = (now) => {
        const f = Math.min(1, (now - start) / 400);
        span.textContent = secs(f >= 1 ? t : Math.round(from + (t - from) * f));
        if (f < 1) requestAnimationFrame(frame);
      };
      span.textContent = secs(from);
      if (from === t) return;
      requestAnimationFrame(frame);
    }

    function timersPanel(c) {
      const box = el("section", { class: "panel", id: "timers" }, el("h2", { text: "Running timers" }));
      if (!c.tm.length && !c.wt.length) {
        box.append(el("p", { text: "No timer runs: nothing happens until an event or an action." }));
        return box;
      }
      const table = el("table", {});
      table.append(el("tr", {}, el("th", { text: "Timer" }), el("th", { text: "Node" }),
        el("th", { text: "Started" }), el("th", { text: "Window (earliest..latest deadline)" }),
        el("th", { text: "From now" })));
      for (const [name, node, since, early, late] of c.tm) {
        table.append(el("tr", { class: "timer", title: SPEC.timers[name] || "" },
          el("td", { text: name }), el("td", { text: nodes[node] }), el("td", { text: "t=" + secs(since) }),
          el("td", { text: "t=" + secs(early) + ".." + secs(late) }),
          el("td", { text: relative(c.t, early, late) })));
      }
      for (const [home, n, since, early, late] of c.wt) {
        table.append(el("tr", { class: "timer", title: SPEC.timers.client_relogin || "" },
          el("td", { text: "re-login of " + n + " client(s) of " + nodes[home] }), el("td", { text: "-" }),
          el("td", { text: "t=" + secs(since) }), el("td", { text: "t=" + secs(early) + ".." + secs(late) }),
          el("td", { text: relative(c.t, early, late) })));
      }
      box.append(table);
      return box;
    }

    function relative(now, early, late) {
      if (late <= now) return "due now: must happen before time passes";
      if (early <= now) return "may happen now, must by " + secs(late - now) + " s from now";
      return "in " + secs(early - now) + ".." + secs(late - now) + " s";
    }

    function stepsPanel(c, path, beyond) {
      const box = el("section", { class: "panel", id: "steps" }, el("h2", { text: "What can happen now" }));
      const back = el("button", { id: "back", text: "Go back", onclick: () => go(path.slice(0, -1)) });
      if (!path.length && beyond === null) back.disabled = true;
      const restart = el("button", { id: "restart", text: "Start again", onclick: () => go([]) });
      box.append(el("p", {}, back, " ", restart));
      if (beyond !== null) {
        const [kind, words] = X.steps[beyond.step];
        box.append(el("div", { id: "edge", class: "edge" },
          el("p", { text: "Not explored: " + words + " (" + kind + "). The page above is the configuration before it." }),
          el("p", { text: beyond.kind === BEYOND_STATES
            ? "It leads to a configuration past this page's bound of " + X.bounds.max_states +
              " configurations. This command embeds more: " + X.command
            : "It would leave more than " + X.bounds.max_faults + " fault(s) at once, this page's fault bound." })));
        back.disabled = false;
        return box;
      }
      const groups = { admin: [], wait: [], fire: [], relogin: [], event: [] };
      for (let k = 0; 2 * k < c.e.length; k++) {
        const [kind, words, rule] = X.steps[c.e[2 * k]];
        const target = c.e[2 * k + 1];
        const button = el("button", { class: "step " + kind, "data-words": words, text: words,
          title: (rule ? "rule " + rule + ". " : "") + (target === BEYOND_STATES ? "not explored on this page"
            : target === BEYOND_FAULTS ? "beyond the fault bound" : ""),
          onclick: () => go(path.concat([k])) });
        if (target === BEYOND_FAULTS) { button.disabled = true; button.classList.add("beyond"); }
        if (target === BEYOND_STATES) button.classList.add("unexplored");
        if (kind === "wait") button.id = "wait";
        groups[kind].push(button);
      }
      const named = [["admin", "Administrator actions the page offers"], ["wait", "Time"],
        ["fire", "Timers that may fire now"], ["relogin", "Clients that may re-login now"],
        ["event", "Environment events"]];
      for (const [kind, heading] of named) {
        const list = groups[kind];
        if (kind === "wait" && !list.length) {
          const due = c.tm.some((t) => t[4] <= c.t) || c.wt.some((w) => w[4] <= c.t);
          box.append(el("h3", { text: heading }), el("p", { id: "no-wait", text: due
            ? "Time cannot pass: a timer or a client is due now and must go first."
            : "Nothing is running: time passing changes nothing." }));
          continue;
        }
        if (!list.length) continue;
        box.append(el("h3", { text: heading }), el("div", { class: "buttons" }, ...list));
      }
      return box;
    }

    window.addEventListener("hashchange", () => { if (location.hash !== rendered) render(); });
    render();
  }

  // -- trace mode -------------------------------------------------------------------------------
  function trace() {
    const T = DATA.trace;
    const rows = T.records;
    const labels = {};
    for (const [id, s] of Object.entries(SPEC.states)) labels[s.label] = id;

    function position() {
      const m = /^#r=([0-9]+)$/.exec(location.hash);
      const k = m ? Number(m[1]) : 0;
      return Math.min(Math.max(k, 0), Math.max(rows.length - 1, 0));
    }

    let rendered = null;
    function show(k) {
      location.hash = "#r=" + k;
      render();
    }

    function render() {
      rendered = location.hash;
      const k = position();
      app.replaceChildren();
      app.append(el("h1", { text: "Trace " + T.file + " against " + SPEC.title }));
      const verdict = T.verdict === "conforms" ? "conforms: every record is allowed"
        : "does not conform: line " + T.divergence.line + " is the first record no behaviour allows";
      app.append(el("p", { id: "verdict", class: "verdict " + T.verdict, text: "Verdict: " + verdict }));
      if (!rows.length) { app.append(el("p", { text: "The trace has no records." })); redrawn(); return; }
      if (T.checked > rows.length) {
        app.append(el("p", { id: "records-note", class: "note", text: "The oracle checked " + T.checked +
          " records; this page embeds the first " + T.max_records + (T.divergence ? " and the divergent one" : "") +
          " (hasm explorer --max-records N embeds more)." }));
      }
      const box = el("section", { class: "panel", id: "scrubber" });
      const slider = el("input", { id: "scrub", type: "range", min: "0", max: String(rows.length - 1),
        value: String(k), oninput: (e) => show(e.target.value) });
      const prev = el("button", { id: "prev", text: "Previous record", onclick: () => show(Math.max(0, k - 1)) });
      const next = el("button", { id: "next", text: "Next record", onclick: () => show(Math.min(rows.length - 1, k + 1)) });
      box.append(el("p", {}, prev, " ", slider, " ", next));
      const row = rows[k];
      const isDivergence = T.divergence && row.line === T.divergence.line;
      box.append(el("p", { id: "record", class: isDivergence ? "divergent" : "",
        text: "Record " + (k + 1) + " of " + rows.length + ", line " + row.line + ", t=" + secs(row.t) + ": " + row.words }));
      box.append(answersLine(row));
      box.append(fieldsTable(row, isDivergence));
      app.append(box);
      if (T.divergence) {
        const div = el("section", { class: "panel divergence", id: "divergence" },
          el("h2", {}, "Divergence at line " + T.divergence.line + " ",
            el("button", { id: "goto-divergence", text: "show it", onclick: () => {
              show(rows.findIndex((r) => r.line === T.divergence.line)); } })));
        const pre = el("pre", {});
        pre.textContent = T.divergence.text.join("\n");
        div.append(pre);
        app.append(div);
      }
      const list = el("ol", { id: "records", class: "records" });
      rows.forEach((r, i) => {
        const cls = [i === k ? "current" : "", T.divergence && r.line === T.divergence.line ? "divergent" : ""].join(" ");
        list.append(el("li", { class: cls, onclick: () => show(i) },
          "line " + r.line + ", t=" + secs(r.t) + ": " + r.words));
      });
      app.append(el("section", { class: "panel" }, el("h2", { text: "Records" }), list));
      app.append(diagramPanel());
      // Each node's state as observed where the spec allows it, else what the spec allows.
      highlight(T.nodes.map((name) => {
        const field = "nodes." + name + ".state";
        const allowed = (row.allowed || {})[field] || [];
        const seen = (row.observed[field] || []).filter((s) => allowed.includes(s));
        return (seen.length ? seen : allowed).map((label) => labels[label]).filter((id) => id !== undefined);
      }));
      redrawn();
    }

    function answersLine(row) {
      // Which answers to the readings still explain the trace up to this record: the oracle's
      // candidates under each answer, computed by hasm, not here.
      const p = el("div", { id: "record-answers", "data-answers": row.answers.join(" ") });
      if (!SPEC.readings.length) {
        p.textContent = row.answers.length ? "The trace is explained up to this record."
          : "Nothing explains the trace up to this record: the divergence.";
        return p;
      }
      if (!row.answers.length) {
        p.classList.add("divergent");
        p.textContent = "No answer to the readings explains the trace up to this record: the divergence.";
        return p;
      }
      p.append("Answers to the readings that explain the trace up to this record (" + row.answers.length +
        " of " + T.answers.length + "):");
      const list = el("ul", {});
      for (const k of row.answers) list.append(el("li", { class: "answer", text: answerWords(T.answers[k]) }));
      p.append(list);
      return p;
    }

    function fieldsTable(row, isDivergence) {
      const allowed = row.allowed || {};
      const fields = Array.from(new Set(Object.keys(row.observed).concat(Object.keys(allowed)))).sort();
      const table = el("table", { id: "fields" });
      table.append(el("tr", {}, el("th", { text: "Field" }), el("th", { text: "Observed" }),
        el("th", { text: isDivergence ? "The spec allows there" : "The spec allows at this time, before the record" }),
        el("th", { text: "" })));
      for (const f of fields) {
        const seen = row.observed[f];
        const ok = seen === undefined ? "" : seen.some((s) => (allowed[f] || []).includes(s)) ? "ok" : "NOT";
        table.append(el("tr", { class: ok === "NOT" ? "not" : "" }, el("td", { text: f }),
          el("td", { text: seen === undefined ? "-" : seen.join(" or ") }),
          el("td", { text: (allowed[f] || []).join(" | ") || "nothing" }), el("td", { class: "mark", text: ok })));
      }
      return table;
    }

    window.addEventListener("hashchange", () => { if (location.hash !== rendered) render(); });
    render();
  }

  if (DATA.trace) trace(); else explorer();
})();
