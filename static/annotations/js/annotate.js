/* The annotate page: turn a text selection into code-point offsets, and the
 * keyboard shortcuts. The one script the page needs; htmx does the rest.
 *
 * Browsers count UTF-16 code units in Selection and Range; Demarche stores
 * Unicode code points. Every segment of the article text carries its
 * code-point start (data-s), so an offset inside a segment converts by
 * counting the code points of the segment's text before it.
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

  const codePoints = (s) => Array.from(s).length;

  /* A DOM boundary point (node, UTF-16 offset) → code-point offset in the article. */
  function toCodePoint(node, offset) {
    const box = textBox();
    if (node.nodeType === Node.TEXT_NODE) {
      const seg = node.parentElement.closest(".seg");
      if (!seg || !box.contains(seg)) return null;
      return Number(seg.dataset.s) + codePoints(node.data.slice(0, offset));
    }
    if (node === box) {
      const child = box.childNodes[offset];
      return child ? Number(child.dataset.s) : codePoints(box.textContent);
    }
    const seg = node.closest && node.closest(".seg");
    if (!seg || !box.contains(seg)) return null;
    return Number(seg.dataset.s) + (offset > 0 ? codePoints(seg.textContent) : 0);
  }

  function currentSelection() {
    const selection = window.getSelection();
    if (!selection || selection.isCollapsed || selection.rangeCount === 0) return null;
    const range = selection.getRangeAt(0);
    const box = textBox();
    if (!box.contains(range.startContainer) || !box.contains(range.endContainer)) return null;
    const start = toCodePoint(range.startContainer, range.startOffset);
    const end = toCodePoint(range.endContainer, range.endOffset);
    if (start === null || end === null || end <= start) return null;
    return { start: start, end: end, text: Array.from(box.textContent).slice(start, end).join("") };
  }

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
    if (form && /^\/quotes\/\d+\//.test(form.getAttribute("action"))) {
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
    dirty = true;
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
    lastStanceRow = row;
    const select = row.querySelector("select");
    if (select) select.focus();
  }

  function pickLabel(labelId) {
    const rows = Array.from(document.querySelectorAll("#stance-rows .stance-row"));
    if (!rows.length) return false;
    const row = lastStanceRow && document.body.contains(lastStanceRow) ? lastStanceRow : rows[rows.length - 1];
    const radio = row.querySelector("input[type=radio][value='" + labelId + "']");
    if (!radio) return false;
    radio.checked = true;
    radio.focus();
    dirty = true;
    return true;
  }

  function typing(target) {
    return target.closest("input:not([type=radio]):not([type=checkbox]), textarea, select, [contenteditable]");
  }

  document.addEventListener("keydown", function (event) {
    const target = event.target;
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      const form = document.getElementById("quote-form");
      if (form) {
        event.preventDefault();
        form.requestSubmit();
      }
      return;
    }
    if (event.key === "Escape") {
      const results = document.getElementById("speaker-results");
      if (results) results.innerHTML = "";
      textBox().focus();
      return;
    }
    if (typing(target) || event.altKey || event.ctrlKey || event.metaKey) return;
    const help = document.getElementById("help");
    if (event.key === "?") {
      event.preventDefault();
      help.open ? help.close() : help.showModal();
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
    const labelId = labelShortcuts[event.key];
    if (labelId !== undefined && document.getElementById("quote-form")) {
      if (pickLabel(labelId)) event.preventDefault();
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
    }, 0);
  });

  document.addEventListener("click", function (event) {
    const link = event.target.closest("#quote-list .quote-link");
    if (link) {
      event.preventDefault();
      openQuote(quoteLinks().indexOf(link));
      return;
    }
    const option = event.target.closest(".speaker-option");
    if (option) {
      pickSpeaker(option.dataset.id, option.dataset.name);
      return;
    }
    const nudgeButton = event.target.closest("[data-nudge]");
    if (nudgeButton) {
      nudge(nudgeButton.dataset.nudge);
      return;
    }
    if (event.target.closest("#add-stance")) {
      addStanceRow();
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

  function pickSpeaker(id, name) {
    const form = document.getElementById("quote-form");
    if (!form) return;
    form.elements.speaker.value = id;
    form.elements.speaker_query.value = name;
    const results = document.getElementById("speaker-results");
    if (results) results.innerHTML = "";
    form.elements.speaker_query.setAttribute("aria-expanded", "false");
    dirty = true;
  }

  document.addEventListener("focusin", function (event) {
    const row = event.target.closest("#stance-rows .stance-row");
    if (row) lastStanceRow = row;
  });

  document.addEventListener("input", function (event) {
    if (!event.target.closest("#quote-form")) return;
    dirty = true;
    if (event.target.name === "speaker_query") {
      // A typed name replaces a picked speaker until one is picked again.
      event.target.form.elements.speaker.value = "";
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "ArrowDown" && event.target.name === "speaker_query") {
      const first = document.querySelector("#speaker-results .speaker-option");
      if (first) {
        event.preventDefault();
        first.focus();
      }
    }
  });

  document.body.addEventListener("htmx:afterSwap", function (event) {
    const target = event.detail.target;
    if (target && target.id === "speaker-results") {
      const input = document.querySelector("[name=speaker_query]");
      if (input) input.setAttribute("aria-expanded", String(!!target.querySelector(".speaker-option")));
    }
    const created = document.getElementById("speaker-created");
    if (created && created.dataset.picked !== "1") {
      created.dataset.picked = "1";
      pickSpeaker(created.dataset.id, created.dataset.name);
    }
  });

  document.body.addEventListener("htmx:afterSettle", function (event) {
    const newPanel = panel();
    if (event.detail.target && event.detail.target.id === "quote-panel" && newPanel) {
      dirty = newPanel.querySelector(".errorlist, [role=alert]") !== null;
      const focusable = newPanel.querySelector("[autofocus], .message, input[name=speaker_query]");
      const form = newPanel.querySelector("#quote-form");
      const editing = form && form.getAttribute("action").match(/^\/quotes\/(\d+)\//);
      if (editing) highlightQuote(editing[1]);
      (focusable || newPanel).focus();
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
  document.body.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.elt && event.detail.elt.id === "quote-form") dirty = false;
  });
})();
