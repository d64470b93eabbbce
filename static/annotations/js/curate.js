/* The curation page: the curated-quote editor. A selection in the article text
 * (mouse, or the keyboard's caret: text-selection.js, as on the annotate page)
 * becomes the span of the curated quote being edited; the speaker is picked by the
 * annotate page's active search (speaker-search.js), a stance's target by its combobox
 * (target-combobox.js). htmx does the rest.
 */
(function () {
  "use strict";

  const Text = window.DemarcheText;
  const Combo = window.DemarcheCombobox;
  const textBox = () => document.getElementById("article-text");
  // The editor's own page (a link opened apart) has no text to select in: speaker and targets only.
  if (!document.querySelector(".curation, .edit-form")) return;
  let editor = null; // the edit form a selection applies to: the last one opened or used

  /* Say something to screen readers: the region is outside #curation, so it survives swaps. */
  function announce(text) {
    const region = document.getElementById("announcer");
    if (!region) return;
    region.textContent = "";
    window.setTimeout(function () {
      region.textContent = text;
    }, 50);
  }

  function currentEditor() {
    if (editor && document.body.contains(editor)) return editor;
    const open = document.querySelectorAll("#curation .edit-form");
    editor = open.length ? open[open.length - 1] : null;
    return editor;
  }

  /* The editor's span, marked in the text and brought into view there. */
  function showSpan(form) {
    if (!textBox()) return;
    const start = Number(form.elements.start.value);
    const end = Number(form.elements.end.value);
    const chars = Array.from(textBox().textContent);
    if (!(end > start) || end > chars.length) {
      Text.unmark("pending-quote");
      return;
    }
    form.querySelector(".span-text").textContent = chars.slice(start, end).join("");
    Text.markSpan(textBox(), "pending-quote", start, end);
  }
  function scrollToSpan(form) {
    scrollToRange(Number(form.elements.start.value), Number(form.elements.end.value));
  }
  /* In the text's own scroll (beside the rows); on a narrow screen, where the text comes
   * after the rows, the page scrolls there only when asked (andPage). */
  function scrollToRange(start, end, andPage) {
    if (!textBox()) return;
    const range = Text.rangeOf(textBox(), start, end);
    if (!range) return;
    const box = textBox();
    let rect = range.getBoundingClientRect();
    const view = box.getBoundingClientRect();
    if (box.scrollHeight > box.clientHeight && (rect.top < view.top || rect.bottom > view.bottom)) {
      box.scrollTop += rect.top - view.top - view.height / 4;
      rect = range.getBoundingClientRect();
    }
    if (andPage && (rect.top < 0 || rect.bottom > window.innerHeight)) window.scrollBy({ top: rect.top - window.innerHeight / 3 });
  }

  /* A selection in the text: the span of the curated quote being edited. */
  function applySelection() {
    const selected = Text.selectionIn(textBox());
    if (!selected) return false;
    const form = currentEditor();
    if (!form) {
      announce("Open a curated quote with Edit first: a selection in the text changes its span.");
      return false;
    }
    form.elements.start.value = selected.start;
    form.elements.end.value = selected.end;
    showSpan(form);
    announce("New span of the curated quote: " + selected.text + ". Save to keep it.");
    return true;
  }

  const caret = textBox() && Text.keyboardSelection(textBox, {
    pick: applySelection,
    announce: announce,
    startAt: function () {
      const form = currentEditor();
      if (!form || form.elements.start.value === "") return null;
      const start = Number(form.elements.start.value);
      return { anchor: start, focus: start };
    },
  });

  document.addEventListener("mouseup", function (event) {
    if (!textBox() || !textBox().contains(event.target)) return;
    window.setTimeout(applySelection, 0);
  });

  const typing = (target) => target.closest("input, textarea, select, [contenteditable]");
  document.addEventListener("keydown", function (event) {
    if (event.key !== "c" || event.ctrlKey || event.altKey || event.metaKey || typing(event.target)) return;
    if (!caret || document.querySelector("dialog[open]") || caret.isActive()) return;
    event.preventDefault();
    caret.start();
  });

  /* Offsets typed by hand show their text too. */
  document.addEventListener("input", function (event) {
    const form = event.target.closest(".edit-form");
    if (!form) return;
    editor = form;
    if (event.target.name === "start" || event.target.name === "end") showSpan(form);
  });
  document.addEventListener("focusin", function (event) {
    const form = event.target.closest && event.target.closest(".edit-form");
    if (form && form !== editor) {
      editor = form;
      showSpan(form);
    }
  });

  /* A row's context: its span marked in the article beside the rows, brought into view. */
  document.addEventListener("click", function (event) {
    const button = event.target.closest(".show-in-text");
    if (!button || !textBox()) return;
    const start = Number(button.dataset.start);
    const end = Number(button.dataset.end);
    Text.markSpan(textBox(), "row-span", start, end);
    scrollToRange(start, end, true);
    announce("Marked in the article: " + Array.from(textBox().textContent).slice(start, end).join(""));
  });

  /* --- The speaker: the annotate page's active search (speaker-search.js). */
  window.DemarcheSpeakerSearch.configure({
    picked: function (form, name) {
      form.elements.speaker_query.focus();
      announce("Speaker: " + name);
    },
  });
  document.addEventListener("keydown", function (event) {
    const results = event.key === "Escape" && event.target.closest && event.target.closest(".edit-form .results");
    if (!results) return;
    results.replaceChildren();
    const query = results.closest(".edit-form").elements.speaker_query;
    query.setAttribute("aria-expanded", "false");
    query.focus();
  });

  /* --- Stances: a target picked in the combobox gets its row (its label select) in the list. */
  Combo.configure({
    picked: function (input, option) {
      const form = input.closest(".edit-form");
      const row = form.querySelector('.stance-choice[data-target="' + option.id + '"]');
      input.value = "";
      Combo.of(input).hidden.value = "";
      if (!row) return;
      form.querySelector(".stance-list").append(row);
      const select = row.querySelector("select");
      select.focus();
      announce("Stance toward " + option.path + ": choose its label.");
    },
  });

  document.addEventListener("keydown", function (event) {
    if (Combo.of(event.target)) Combo.keydown(event, event.target);
  });

  function enhance(root) {
    Combo.enhance(root);
    if (textBox()) root.querySelectorAll(".show-in-text[hidden]").forEach((button) => (button.hidden = false));
    // With the combobox, every target is a search away: the long list goes.
    root.querySelectorAll(".edit-form .other-stances").forEach((details) => (details.hidden = true));
    const form = root.matches && root.matches(".edit-form") ? root : root.querySelector && root.querySelector(".edit-form");
    if (form) {
      editor = form;
      showSpan(form);
      scrollToSpan(form);
    }
  }
  enhance(document);
  htmx.onLoad(function (element) {
    enhance(element);
    // The area was redrawn (a save, an accept): no editor is open any more.
    if (!currentEditor()) Text.unmark("pending-quote");
  });
})();
