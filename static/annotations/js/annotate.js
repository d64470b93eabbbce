/* The annotate page: a text selection (mouse or keyboard) opens a quote, and the
 * keyboard shortcuts. Measuring the selection in code points is text-selection.js's
 * (shared with the curation page); htmx does the rest.
 */
(function () {
  "use strict";

  const workspace = document.querySelector(".workspace");
  if (!workspace) return;
  const textBox = () => document.getElementById("article-text");
  const panel = () => document.getElementById("quote-panel");
  const canAnnotate = workspace.dataset.canAnnotate === "1";
  const shortcutsNode = document.getElementById("label-shortcuts");
  const labelShortcuts = shortcutsNode ? JSON.parse(shortcutsNode.textContent) : {};
  let dirty = false;
  let current = -1;
  let lastStanceRow = null;
  let focusTextNext = false; // after Esc closed the panel, the focus goes back to the text

  const Text = window.DemarcheText;
  const currentSelection = () => Text.selectionIn(textBox());

  function openPanel(url) {
    if (dirty && !window.confirm("Discard the changes in the open quote?")) return;
    dirty = false;
    htmx.ajax("GET", url, { target: "#quote-panel", swap: "outerHTML" });
  }

  function newQuoteFromSelection() {
    if (!canAnnotate) return false;
    const sel = currentSelection();
    if (!sel) return false;
    // With a quote open for editing, a new selection moves that quote's span.
    const form = document.getElementById("quote-form");
    if (form && /^\/(quotes|suggestions)\/\d+\//.test(form.getAttribute("action"))) {
      setSpan(form, sel.start, sel.end, sel.text);
      return true;
    }
    const params = new URLSearchParams({ start: sel.start, end: sel.end, text: sel.text });
    openPanel(workspace.dataset.newUrl + "?" + params.toString());
    return true;
  }

  /* Nudging the selection: trim spaces and punctuation, or extend to whole words. */
  const trimmable = /[\s\p{P}]/u;
  const wordish = /[\p{L}\p{N}\p{M}'’\-]/u;
  function nudge(how) {
    const form = document.getElementById("quote-form");
    if (!form) return;
    const chars = Array.from(textBox().textContent);
    let start = Number(form.elements.start.value);
    let end = Number(form.elements.end.value);
    if (!(end > start)) return;
    if (how === "trim") {
      while (start < end && trimmable.test(chars[start])) start++;
      while (end > start && trimmable.test(chars[end - 1])) end--;
    } else {
      while (start > 0 && wordish.test(chars[start - 1]) && wordish.test(chars[start])) start--;
      while (end < chars.length && wordish.test(chars[end]) && wordish.test(chars[end - 1])) end++;
    }
    if (end <= start) return;
    setSpan(form, start, end, chars.slice(start, end).join(""));
  }

  function setSpan(form, start, end, text) {
    form.elements.start.value = start;
    form.elements.end.value = end;
    form.elements.text.value = text;
    document.getElementById("selection-text").textContent = text;
    document.getElementById("selection-offsets").textContent = start + "–" + end;
    markSpan("pending-quote", start, end);
    dirty = true;
  }

  /* Named highlights over the text (pending-quote: the selection the open panel is
   * about; mention/cue: stored spans), drawn by the shared selection code. */
  const canHighlight = Text.canHighlight;
  const markSpan = (name, start, end) => Text.markSpan(textBox(), name, start, end);
  const unmark = Text.unmark;

  /* --- Search in the text: "/" to the box; Enter / Shift+Enter (in the box) or n / N
   * (out of it) from match to match; the current match marked and scrolled into view. */
  const searchBox = document.getElementById("text-search");
  const searchCount = document.getElementById("search-count");
  let matches = [];
  let matchIndex = -1;

  /* A UTF-16 index into the text (what String.matchAll counts) → a DOM boundary. */
  function boundary16(index) {
    let offset = 0;
    for (const seg of textBox().querySelectorAll(".seg")) {
      const node = seg.firstChild;
      if (!node || node.nodeType !== Node.TEXT_NODE) continue;
      if (index <= offset + node.data.length) return [node, index - offset];
      offset += node.data.length;
    }
    return null;
  }
  function range16(start, end) {
    const a = boundary16(start);
    const b = boundary16(end);
    if (!a || !b) return null;
    const range = document.createRange();
    range.setStart(a[0], a[1]);
    range.setEnd(b[0], b[1]);
    return range;
  }

  function runSearch() {
    const query = searchBox.value;
    matches = [];
    if (query) {
      const pattern = new RegExp(query.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "giu");
      for (const match of textBox().textContent.matchAll(pattern)) {
        matches.push([match.index, match.index + match[0].length]);
        if (matches.length >= 2000) break;
      }
    }
    matchIndex = matches.length ? 0 : -1;
    drawMatches(false);
  }

  function drawMatches(scroll) {
    if (canHighlight) {
      const ranges = matches.map((m) => range16(m[0], m[1])).filter(Boolean);
      ranges.length ? CSS.highlights.set("search", new Highlight(...ranges)) : CSS.highlights.delete("search");
    }
    const current = matchIndex >= 0 ? range16(matches[matchIndex][0], matches[matchIndex][1]) : null;
    if (canHighlight) current ? CSS.highlights.set("search-current", new Highlight(current)) : CSS.highlights.delete("search-current");
    searchCount.textContent = !searchBox.value ? "" : matches.length ? matchIndex + 1 + " of " + matches.length : "no match";
    if (current && scroll !== false) {
      const box = current.getBoundingClientRect();
      if (box.top < 80 || box.bottom > window.innerHeight - 20) window.scrollBy({ top: box.top - window.innerHeight / 2 });
    }
  }

  function stepMatch(delta) {
    if (!matches.length) return false;
    matchIndex = (matchIndex + delta + matches.length) % matches.length;
    drawMatches(true);
    return true;
  }

  function clearSearch() {
    searchBox.value = "";
    matches = [];
    matchIndex = -1;
    drawMatches(false);
  }

  if (searchBox) {
    searchBox.addEventListener("input", function () {
      runSearch();
      drawMatches(true);
    });
    searchBox.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.ctrlKey && !event.metaKey) {
        event.preventDefault();
        // The first Enter shows the first match; each next one moves on.
        if (!matches.length && searchBox.value) runSearch();
        stepMatch(event.shiftKey ? -1 : 1);
      } else if (event.key === "Escape") {
        // Leave the box for the text; the matches stay for n / N until the next Esc.
        event.preventDefault();
        event.stopPropagation();
        if (!searchBox.value) clearSearch();
        textBox().focus({ preventScroll: true });
      }
    });
    // The text changes under the matches when a save swaps it: search again.
    document.body.addEventListener("htmx:afterSettle", function () {
      if (searchBox.value) {
        const keep = matchIndex;
        runSearch();
        if (keep >= 0 && keep < matches.length) matchIndex = keep;
        drawMatches(false);
      }
    });
  }

  /* Keyboard selection: c puts a caret in the text (on the current search match,
   * selected; else at the open or current quote; else at the paragraph in view), and
   * Enter opens the quote panel for what it selected, as a mouse-up does. */
  const caret = Text.keyboardSelection(textBox, {
    pick: function () {
      if (!newQuoteFromSelection()) announce("You can't add quotes to this article.");
    },
    announce: announce,
    startAt: caretStart,
  });
  function caretStart() {
    if (matchIndex >= 0 && matches.length) {
      const match = matches[matchIndex];
      return { anchor: Text.codePointOf16(textBox(), match[0]), focus: Text.codePointOf16(textBox(), match[1]) };
    }
    const form = document.getElementById("quote-form");
    if (form && form.elements.start && form.elements.start.value !== "") {
      const start = Number(form.elements.start.value);
      return { anchor: start, focus: start };
    }
    const quote = document.querySelector("#article-text .hl.current");
    return quote ? { anchor: Number(quote.dataset.s), focus: Number(quote.dataset.s) } : null;
  }

  /* The stored source mention and cue: the open quote's (from its form), or, while the
   * pointer or the focus is on a quote in the text or the list, that quote's. */
  function spanPair(value) {
    const parts = (value || "").split(" ");
    return parts.length === 2 && parts[0] !== "" ? parts : null;
  }
  function showStored(mention, cue) {
    mention ? markSpan("mention", mention[0], mention[1]) : unmark("mention");
    cue ? markSpan("cue", cue[0], cue[1]) : unmark("cue");
  }
  function showOpenQuoteSpans() {
    const form = document.getElementById("quote-form");
    const field = (name) => (form && form.elements[name] ? form.elements[name].value : "");
    const pair = (prefix) => (field(prefix + "_start") !== "" && field(prefix + "_end") !== "" ? [field(prefix + "_start"), field(prefix + "_end")] : null);
    showStored(pair("mention"), pair("cue"));
  }
  function showQuoteSpans(id) {
    const item = document.getElementById("quote-" + id);
    if (!item) return;
    showStored(spanPair(item.dataset.mention), spanPair(item.dataset.cue));
  }
  function quoteUnder(element) {
    const seg = element.closest && element.closest("#article-text .hl");
    if (seg) return seg.dataset.q.split(" ").pop();
    const link = element.closest && element.closest("#quote-list li");
    return link ? link.id.replace("quote-", "") : null;
  }
  document.addEventListener("mouseover", function (event) {
    const id = quoteUnder(event.target);
    if (id) showQuoteSpans(id);
  });
  document.addEventListener("mouseout", function (event) {
    if (quoteUnder(event.target) && !(event.relatedTarget && quoteUnder(event.relatedTarget))) showOpenQuoteSpans();
  });
  document.addEventListener("focusin", function (event) {
    const id = event.target.closest("#quote-list .quote-link") ? quoteUnder(event.target) : null;
    if (id) showQuoteSpans(id);
  });
  document.addEventListener("focusout", function (event) {
    if (event.target.closest("#quote-list .quote-link")) showOpenQuoteSpans();
  });

  /* The selection stays marked while its panel is open: a new quote's span, or an
   * open quote's span once re-selected; it goes when the panel closes or saves. */
  function syncPending() {
    const form = document.getElementById("quote-form");
    const isNew = form && !/^\/quotes\/\d+\//.test(form.getAttribute("action"));
    if (isNew && form.elements.start && form.elements.start.value !== "" && form.elements.end.value !== "") {
      markSpan("pending-quote", form.elements.start.value, form.elements.end.value);
    } else {
      unmark("pending-quote");
    }
  }

  function quoteLinks() {
    return Array.from(document.querySelectorAll("#quote-list .quote-link"));
  }

  function openQuote(index) {
    const links = quoteLinks();
    if (!links.length) return;
    current = (index + links.length) % links.length;
    const link = links[current];
    highlightQuote(link.dataset.quote);
    openPanel(link.getAttribute("href"));
  }

  /* The detector's suggestions: a layer of their own, stepped through with n / p. */
  function suggestionLinks() {
    return Array.from(document.querySelectorAll("#suggestion-list .suggestion-link"));
  }

  let lastSuggestion = { start: -1, id: 0 }; // where n / p step from once the open one is decided

  function stepSuggestion(step) {
    const links = suggestionLinks();
    if (!links.length) return false;
    const key = (link) => [Number(link.dataset.start), Number(link.dataset.suggestion)];
    const after = (a, b) => a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]);
    const from = [lastSuggestion.start, lastSuggestion.id];
    let link;
    if (step > 0) link = links.find((l) => after(key(l), from)) || links[0];
    else link = links.slice().reverse().find((l) => after(from, key(l))) || links[links.length - 1];
    openPanel(link.getAttribute("href"));
    return true;
  }

  /* "Suggestion 2 of 5", and its text marked, once its panel is open. */
  function showSuggestion(root) {
    document.querySelectorAll(".sg.current-suggestion, #suggestion-list li.current").forEach((el) => el.classList.remove("current-suggestion", "current"));
    const slot = root.querySelector("#suggestion-position");
    if (!slot) return;
    const id = slot.dataset.suggestion;
    lastSuggestion = { start: Number(slot.dataset.start), id: Number(id) };
    const links = suggestionLinks();
    const index = links.findIndex((link) => link.dataset.suggestion === id);
    if (index >= 0) slot.textContent = "· " + (index + 1) + " of " + links.length;
    const segs = Array.from(document.querySelectorAll("#article-text .sg")).filter((el) => el.dataset.g.split(" ").includes(id));
    segs.forEach((el) => el.classList.add("current-suggestion"));
    if (segs.length) segs[0].scrollIntoView({ block: "center", behavior: "smooth" });
    const item = document.getElementById("suggestion-" + id);
    if (item) item.classList.add("current");
  }

  /* "Quote 3 of 10": the open quote's place in the list, in text order. */
  function showPosition(root) {
    const slot = root.querySelector("#quote-position");
    if (!slot) return;
    const links = quoteLinks();
    const index = links.findIndex((link) => link.dataset.quote === slot.dataset.quote);
    if (index < 0) return;
    current = index;
    slot.textContent = "· quote " + (index + 1) + " of " + links.length;
  }

  function highlightQuote(id) {
    document.querySelectorAll(".hl.current").forEach((el) => el.classList.remove("current"));
    const segs = Array.from(document.querySelectorAll("#article-text .hl")).filter((el) =>
      (el.dataset.q || "").split(" ").includes(String(id))
    );
    segs.forEach((el) => el.classList.add("current"));
    if (segs.length) segs[0].scrollIntoView({ block: "center", behavior: "smooth" });
    document.querySelectorAll("#quote-list li.current").forEach((el) => el.classList.remove("current"));
    const item = document.getElementById("quote-" + id);
    if (item) item.classList.add("current");
  }

  function addStanceRow() {
    const form = document.getElementById("quote-form");
    const template = document.getElementById("stance-template");
    if (!form || !template) return;
    const total = form.querySelector("[name$='-TOTAL_FORMS']");
    const index = Number(total.value);
    const html = template.innerHTML.replace(/__prefix__/g, String(index));
    const rows = document.getElementById("stance-rows");
    rows.insertAdjacentHTML("beforeend", html);
    total.value = index + 1;
    const row = rows.lastElementChild;
    row.removeAttribute("data-blank");
    row.querySelector(".remove-stance").hidden = false;
    enhanceTargets(row);
    setCurrentRow(row);
    const combo = row.querySelector("[role=combobox]");
    if (combo) combo.focus();
  }

  function stanceRows() {
    return Array.from(document.querySelectorAll("#stance-rows .stance-row"));
  }

  /* The row label keys act on: the one holding the focus, else the last one the focus was in. */
  function setCurrentRow(row) {
    lastStanceRow = row;
    stanceRows().forEach((r) => r.classList.toggle("current", r === row));
  }

  function currentRow() {
    const focused = document.activeElement && document.activeElement.closest("#stance-rows .stance-row");
    if (focused) return focused;
    if (lastStanceRow && document.body.contains(lastStanceRow)) return lastStanceRow;
    return null;
  }

  function pickLabel(labelId) {
    const row = currentRow();
    if (!row) {
      // No stance to label: say so where the eye is (the button) and to the ear.
      const add = document.getElementById("add-stance");
      if (add) add.focus();
      announce("No stance yet: press t to add one, choose its target, then label it.");
      return true;
    }
    const radio = row.querySelector("input[type=radio][value='" + labelId + "']");
    if (!radio) return false;
    radio.checked = true;
    radio.focus();
    dirty = true;
    const name = radio.closest("label") ? radio.closest("label").textContent.trim() : "";
    const target = row.querySelector("[role=combobox]");
    announce("Labelled " + name + (target && target.value ? ": " + target.value : ""));
    return true;
  }

  /* Say something to screen readers: the region is outside the panel, so it survives swaps. */
  function announce(text) {
    const region = document.getElementById("announcer");
    if (!region) return;
    region.textContent = "";
    window.setTimeout(function () {
      region.textContent = text;
    }, 50);
  }

  /* --- The target combobox: target-combobox.js (shared with the curation page); the
   * annotate page adds what a pick means here (the row is the analyst's, on to its label),
   * the label keys in a closed box, and "Propose a target" for a name no target has. */
  const Combo = window.DemarcheCombobox;
  const comboOf = Combo.of;
  Combo.configure({
    canPropose: () => !!proposeDialog,
    propose: (input, typed) => openProposeDialog(input, typed),
    typed: (input) => forgetSuggestion(input),
    picked: function (input, option) {
      dirty = true;
      forgetSuggestion(input);
      // Straight on to the label: the label keys act on this row from here.
      const row = input.closest(".stance-row");
      const radio = row && (row.querySelector("input[type=radio]:checked") || row.querySelector("input[type=radio]"));
      if (radio) radio.focus();
      announce("Target: " + option.path + ". Now press a label key.");
    },
    // Closed list, a printable key: a label key labels this row.
    key: function (event, input) {
      const labelId = labelShortcuts[event.key];
      if (labelId === undefined) return false;
      event.preventDefault();
      setCurrentRow(input.closest(".stance-row"));
      pickLabel(labelId);
      return true;
    },
  });
  const enhanceTargets = Combo.enhance;

  /* The analyst chose the target of a suggested row: the row is theirs now. */
  function forgetSuggestion(input) {
    const row = input.closest(".stance-row[data-suggested]");
    if (!row) return;
    row.removeAttribute("data-suggested");
    const note = row.querySelector(".suggested-target");
    if (note) note.remove();
    const marker = row.querySelector("input[name$='-suggested']");
    if (marker) marker.value = "";
  }

  function typing(target) {
    // A select inside a stance row (intensity) takes no letters: they are label keys there.
    if (target.matches("#stance-rows select")) return false;
    return target.closest("input:not([type=radio]):not([type=checkbox]), textarea, select, [contenteditable]");
  }

  function closePanel() {
    if (dirty && !window.confirm("Discard the changes in the open quote?")) return;
    dirty = false;
    document.querySelectorAll(".hl.current, #quote-list li.current").forEach((el) => el.classList.remove("current"));
    focusTextNext = true;
    htmx.ajax("GET", window.location.pathname + "?fragment=quote-panel", { target: "#quote-panel", swap: "outerHTML" });
  }

  function panelIsOpen() {
    const p = panel();
    return !!(p && p.querySelector("#quote-form, form, blockquote"));
  }

  document.addEventListener("keydown", function (event) {
    const target = event.target;
    // An open dialog (help, new speaker) owns the keyboard; Esc closes it by itself.
    if (document.querySelector("dialog[open]")) return;
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      const form = document.getElementById("quote-form");
      if (form) {
        event.preventDefault();
        form.requestSubmit();
      }
      return;
    }
    const combo = comboOf(target);
    if (combo && Combo.keydown(event, target)) return;
    if (event.key === "Escape") {
      // One Esc, one thing closed: an open list, the search, then the panel.
      if (event.defaultPrevented || target === searchBox) return;
      if (searchBox && searchBox.value) {
        clearSearch();
        return;
      }
      const results = document.getElementById("speaker-results");
      if (results && results.querySelector(".speaker-option")) {
        results.innerHTML = "";
        const query = document.querySelector("[name=speaker_query]");
        if (query) {
          query.setAttribute("aria-expanded", "false");
          query.focus();
        }
        return;
      }
      if (panelIsOpen()) closePanel();
      else textBox().focus();
      return;
    }
    // Suggestion keys: a / x / e act on the open suggestion; n / p step through the
    // suggestions while one is open, or while no quote is being written (n is also a
    // label key, and the next search match, which keep it otherwise).
    const suggestionOpen = document.getElementById("suggestion-position");
    if (!typing(target) && !combo && !event.altKey && !event.ctrlKey && !event.metaKey) {
      const button = suggestionOpen && { a: "accept-suggestion", x: "reject-suggestion", e: "correct-suggestion" }[event.key];
      if (button) {
        event.preventDefault();
        document.getElementById(button).click();
        return;
      }
      // Idle: no quote being written (no form, or the page's blank new-quote form with no
      // selection and no stance yet) and no search to step through.
      const form = document.getElementById("quote-form");
      const blank = form && !/^\/(quotes|suggestions)\//.test(form.getAttribute("action")) && !form.elements.start.value && !stanceRows().length && !dirty;
      const idle = (!form || blank) && !matches.length;
      if ((event.key === "n" || event.key === "p") && (suggestionOpen || idle) && stepSuggestion(event.key === "n" ? 1 : -1)) {
        event.preventDefault();
        return;
      }
    }
    if ((event.key === "n" || event.key === "N") && matches.length && !typing(target) && !target.closest("#quote-panel")) {
      event.preventDefault();
      stepMatch(event.key === "n" ? 1 : -1);
      return;
    }
    const labelKey = labelShortcuts[event.key];
    if (labelKey !== undefined && !event.altKey && !event.ctrlKey && !event.metaKey && !combo && !typing(target) && document.getElementById("quote-form")) {
      if (pickLabel(labelKey)) event.preventDefault();
      return;
    }
    if (typing(target) || event.altKey || event.ctrlKey || event.metaKey) return;
    const help = document.getElementById("help");
    if (event.key === "/" && searchBox) {
      event.preventDefault();
      searchBox.focus();
      searchBox.select();
      return;
    }
    if (event.key === "?") {
      event.preventDefault();
      help.open ? help.close() : help.showModal();
      return;
    }
    if (event.key === "c" && textBox()) {
      event.preventDefault();
      caret.start();
      return;
    }
    if ((event.key === "Enter" || event.key === "q") && !target.closest("a, button")) {
      if (newQuoteFromSelection()) event.preventDefault();
      return;
    }
    if (event.key === "j" || event.key === "k") {
      event.preventDefault();
      openQuote(current + (event.key === "j" ? 1 : -1));
      return;
    }
    if (event.key === "t") {
      event.preventDefault();
      addStanceRow();
      return;
    }
    if (event.key === "Delete") {
      const del = document.getElementById("delete-quote");
      if (del) {
        event.preventDefault();
        del.click();
      }
      return;
    }
    if (event.key === "S" && event.shiftKey) {
      const submit = document.getElementById("submit-article");
      if (submit) {
        event.preventDefault();
        submit.click();
      }
      return;
    }
  });

  /* Mouse: a selection opens the new-quote panel; a click on a highlight opens its quote. */
  document.addEventListener("mouseup", function (event) {
    if (!textBox().contains(event.target)) return;
    window.setTimeout(function () {
      if (newQuoteFromSelection()) return;
      const seg = event.target.closest(".hl");
      if (seg && window.getSelection().isCollapsed) {
        const ids = seg.dataset.q.split(" ");
        const id = ids[ids.length - 1];
        const index = quoteLinks().findIndex((link) => link.dataset.quote === id);
        if (index >= 0) openQuote(index);
      }
      const suggestedSeg = event.target.closest(".sg");
      if (!seg && suggestedSeg && window.getSelection().isCollapsed) {
        const link = suggestionLinks().find((l) => l.dataset.suggestion === suggestedSeg.dataset.g.split(" ")[0]);
        if (link) openPanel(link.getAttribute("href"));
      }
    }, 0);
  });

  document.addEventListener("click", function (event) {
    const suggested = event.target.closest("#suggestion-list .suggestion-link");
    if (suggested) {
      event.preventDefault();
      openPanel(suggested.getAttribute("href"));
      return;
    }
    const link = event.target.closest("#quote-list .quote-link");
    if (link) {
      event.preventDefault();
      openQuote(quoteLinks().indexOf(link));
      return;
    }
    if (event.target.closest(".speaker-option")) return; // speaker-search.js picks it
    const nudgeButton = event.target.closest("[data-nudge]");
    if (nudgeButton) {
      nudge(nudgeButton.dataset.nudge);
      return;
    }
    if (event.target.closest("#add-stance")) {
      addStanceRow();
      return;
    }
    const remove = event.target.closest(".remove-stance");
    if (remove) {
      // A row not saved yet: gone from the form; the formset reads a missing row as empty.
      const row = remove.closest(".stance-row");
      const next = row.nextElementSibling || row.previousElementSibling;
      row.remove();
      dirty = true;
      if (next) {
        setCurrentRow(next);
        (next.querySelector("input[type=radio]:checked") || next.querySelector("[role=combobox]")).focus();
      } else {
        lastStanceRow = null;
        document.getElementById("add-stance").focus();
      }
      return;
    }
    if (event.target.closest("#new-speaker-open")) {
      event.preventDefault();
      openSpeakerDialog();
      return;
    }
    if (event.target.closest("#show-help")) {
      document.getElementById("help").showModal();
      return;
    }
    const cancel = event.target.closest("#quote-panel [data-cancel]");
    if (cancel && !dirty) {
      event.preventDefault();
      htmx.ajax("GET", workspace.dataset.newUrl, { target: "#quote-panel", swap: "outerHTML" });
    }
  });

  /* "New speaker" is a dialog over the open quote: the name typed in the speaker
   * box starts it; once added, the speaker is picked and the dialog closes. */
  const speakerDialog = document.getElementById("new-speaker");
  function openSpeakerDialog() {
    if (!speakerDialog) return;
    const form = speakerDialog.querySelector("form.speaker-form");
    const typed = document.querySelector("#quote-form [name=speaker_query]");
    if (form && typed && !form.elements.name.value) form.elements.name.value = typed.value.trim();
    speakerDialog.showModal();
    if (form) form.elements.name.focus();
  }
  if (speakerDialog) {
    speakerDialog.addEventListener("close", function () {
      // Nothing stale next time: no message from the last speaker, no errors, a blank form.
      speakerDialog.querySelectorAll("#speaker-created, .errorlist").forEach((el) => el.remove());
      const form = speakerDialog.querySelector("form.speaker-form");
      if (form) form.reset();
      const query = document.querySelector("#quote-form [name=speaker_query]");
      if (query) query.focus();
    });
  }

  /* "Propose a target": a dialog over the open quote, its form fetched when it opens
   * (the page itself needs no list of parents). Once proposed, the target joins every
   * target box (and the rows still to come) and is picked in the box it came from. */
  const proposeDialog = document.getElementById("propose-target");
  let proposingFor = null;
  function openProposeDialog(input, name) {
    proposingFor = input;
    const body = proposeDialog.querySelector(".dialog-body");
    body.replaceChildren();
    proposeDialog.showModal();
    htmx
      .ajax("GET", proposeDialog.dataset.url + "?name=" + encodeURIComponent(name), { target: body, swap: "innerHTML" })
      .then(function () {
        const field = body.querySelector("select[name=parent]") || body.querySelector("input[name=name]");
        if (field) field.focus();
      });
  }
  function addTargetOption(id, path) {
    const option = Combo.addOption(id, path);
    const template = document.getElementById("stance-template");
    const select = template && template.content.querySelector("select.target-select");
    if (select && !select.querySelector("option[value='" + id + "']")) select.append(new Option(path, id));
    return option;
  }
  if (proposeDialog) {
    proposeDialog.addEventListener("close", function () {
      proposeDialog.querySelector(".dialog-body").replaceChildren();
      if (proposingFor && document.body.contains(proposingFor)) {
        const combo = comboOf(proposingFor);
        if (combo && combo.hidden.value) {
          const row = proposingFor.closest(".stance-row");
          const radio = row && (row.querySelector("input[type=radio]:checked") || row.querySelector("input[type=radio]"));
          (radio || proposingFor).focus();
        } else {
          proposingFor.focus();
        }
      }
      proposingFor = null;
    });
    document.body.addEventListener("htmx:afterSwap", function () {
      const proposed = document.getElementById("target-proposed");
      if (!proposed || proposed.dataset.picked === "1") return;
      proposed.dataset.picked = "1";
      const option = addTargetOption(proposed.dataset.id, proposed.dataset.path);
      if (proposingFor && document.body.contains(proposingFor)) {
        const combo = comboOf(proposingFor);
        combo.hidden.value = option.id;
        proposingFor.value = option.path;
        forgetSuggestion(proposingFor);
        proposingFor.removeAttribute("aria-invalid");
        dirty = true;
      }
      announce(proposed.textContent.trim() + " Now press a label key.");
      proposeDialog.close();
    });
  }

  /* The speaker's search: speaker-search.js (shared with the curation page's editor). */
  window.DemarcheSpeakerSearch.configure({
    picked: function () {
      dirty = true;
    },
  });
  function pickSpeaker(id, name) {
    const form = document.getElementById("quote-form");
    if (form) window.DemarcheSpeakerSearch.set(form, id, name);
  }

  document.addEventListener("focusin", function (event) {
    const row = event.target.closest("#stance-rows .stance-row");
    if (row) setCurrentRow(row);
  });

  document.addEventListener("input", function (event) {
    if (!event.target.closest("#quote-form")) return;
    dirty = true;
  });

  document.body.addEventListener("htmx:afterSwap", function () {
    const created = document.getElementById("speaker-created");
    if (created && created.dataset.picked !== "1") {
      created.dataset.picked = "1";
      pickSpeaker(created.dataset.id, created.dataset.name);
      announce(created.textContent.trim());
      if (speakerDialog && speakerDialog.open) speakerDialog.close();
    }
  });

  /* The blank row the server renders for the page without JavaScript: here rows are
   * added on demand, so none waits to catch a label key or refuse the save. Blank
   * rows come last, so the remaining rows keep their indices. */
  function dropBlankRows(root) {
    root.querySelectorAll("#stance-rows .stance-row[data-blank]").forEach(function (row) {
      const total = row.closest("form").querySelector("[name$='-TOTAL_FORMS']");
      row.remove();
      total.value = Number(total.value) - 1;
    });
    // Removing a row not saved yet takes the script (without it, a blank row is simply ignored).
    root.querySelectorAll(".remove-stance[hidden]").forEach((button) => (button.hidden = false));
  }

  dropBlankRows(document);
  enhanceTargets(document);
  showPosition(document);
  showOpenQuoteSpans();
  htmx.onLoad(function (element) {
    dropBlankRows(element);
    enhanceTargets(element);
    // A freshly opened quote: its first stance is the current one, marked, until the focus says otherwise.
    const rows = stanceRows();
    if (rows.length && !(lastStanceRow && document.body.contains(lastStanceRow))) setCurrentRow(rows[0]);
  });

  document.body.addEventListener("htmx:afterSettle", function (event) {
    const newPanel = panel();
    if (event.detail.target && event.detail.target.id === "quote-panel" && newPanel) {
      syncPending();
      showOpenQuoteSpans();
      const errors = Array.from(newPanel.querySelectorAll(".errorlist, .message.error, [role=alert]"));
      dirty = errors.length > 0;
      const form = newPanel.querySelector("#quote-form");
      const editing = form && form.getAttribute("action").match(/^\/quotes\/(\d+)\//);
      if (editing) highlightQuote(editing[1]);
      showPosition(newPanel);
      showSuggestion(newPanel);
      if (errors.length) {
        // Refused (a save, an undo, a suggestion): the first problem comes into view and
        // takes the focus, where the analyst fixes it, and a screen reader reads it there.
        // So it is no live region (the template), and the announcer speaks only if the
        // focus did not land on it: copying it there too ("Not saved. …", an undo's as
        // well) said it twice. The other errors stand by their own fields.
        const first = errors[0];
        const row = first.closest(".stance-row");
        if (row) setCurrentRow(row);
        first.tabIndex = -1;
        first.scrollIntoView({ block: "center" });
        first.focus({ preventScroll: true });
        if (!first.contains(document.activeElement)) {
          const stance = row ? "Stance " + (stanceRows().indexOf(row) + 1) + ": " : "";
          announce(stance + first.textContent.trim());
        }
        return;
      }
      if (focusTextNext) {
        focusTextNext = false;
        textBox().focus();
      } else {
        const focusable = newPanel.querySelector("[autofocus], .message, input[name=speaker_query]");
        (focusable || newPanel).focus();
      }
      // What was saved is said once. The focus usually lands on the message, and a
      // screen reader reads the element it focuses: announcing it as well (or making
      // the message a live region) said it twice. The announcer speaks only when the
      // focus went elsewhere.
      const saved = newPanel.querySelector(".message.success");
      if (saved && !saved.contains(document.activeElement)) announce(saved.textContent.trim());
    }
  });

  window.addEventListener("beforeunload", function (event) {
    if (dirty) {
      event.preventDefault();
      event.returnValue = "";
    }
  });
  document.addEventListener("submit", function (event) {
    if (event.target.id === "quote-form" && !event.target.hasAttribute("hx-post")) dirty = false;
  });
  /* A suggested target the analyst left without a label is no stance: it goes before
   * the form is sent (capturing, so before htmx reads the form). A row whose target
   * the analyst chose is theirs, and the server asks for its label. */
  document.addEventListener(
    "submit",
    function (event) {
      if (event.target.id !== "quote-form") return;
      event.target.querySelectorAll("#stance-rows .stance-row[data-suggested]").forEach(function (row) {
        if (!row.querySelector("input[type=radio]:checked")) row.remove();
      });
    },
    true,
  );
  document.body.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.elt && event.detail.elt.id === "quote-form") dirty = false;
  });
  /* A save redraws the text: with the detector's suggestions in it when the page has
   * some (the server reads them only then). */
  document.body.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.verb === "post" && document.querySelector("#article-text .sg")) {
      event.detail.parameters.suggestions_shown = "1";
    }
  });
})();
