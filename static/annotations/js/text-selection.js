/* Selecting a span of an article's text, with the mouse or the keyboard, in
 * code points: the one implementation the annotate page and the curation page
 * share (window.DemarcheText).
 *
 * Browsers count UTF-16 code units in Selection and Range; Demarche stores
 * Unicode code points. Every segment of the article text carries its
 * code-point start (data-s), so an offset inside a segment converts by
 * counting the code points of the segment's text before it.
 *
 * The keyboard selection moves the page's real selection (the one a mouse drag
 * makes), so it looks the same and is read back by the same code: Enter hands it
 * to the page exactly as a mouse-up does.
 */
(function () {
  "use strict";

  const codePoints = (s) => Array.from(s).length;

  /* A DOM boundary point (node, UTF-16 offset) → code-point offset in the article. */
  function toCodePoint(box, node, offset) {
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
    // Inside a segment but on an element (a stance dot after its text): the segment's end.
    if (node !== seg) return Number(seg.dataset.s) + codePoints(seg.firstChild ? seg.firstChild.textContent : "");
    return Number(seg.dataset.s) + (offset > 0 ? codePoints(seg.textContent) : 0);
  }

  /* The page's selection inside box, as {start, end, text} in code points, or null. */
  function selectionIn(box) {
    const selection = window.getSelection();
    if (!box || !selection || selection.isCollapsed || selection.rangeCount === 0) return null;
    const range = selection.getRangeAt(0);
    if (!box.contains(range.startContainer) || !box.contains(range.endContainer)) return null;
    const start = toCodePoint(box, range.startContainer, range.startOffset);
    const end = toCodePoint(box, range.endContainer, range.endOffset);
    if (start === null || end === null || end <= start) return null;
    return { start: start, end: end, text: Array.from(box.textContent).slice(start, end).join("") };
  }

  /* Code points → a DOM boundary point in the segments' text nodes (the inverse of toCodePoint). */
  function boundary(box, cp) {
    // Segments are in text order with their code-point starts: a binary search finds
    // the last one starting at or before cp; only its own text is counted.
    const segs = box.querySelectorAll(".seg");
    let low = 0;
    let high = segs.length - 1;
    let found = -1;
    while (low <= high) {
      const mid = (low + high) >> 1;
      if (Number(segs[mid].dataset.s) <= cp) {
        found = mid;
        low = mid + 1;
      } else {
        high = mid - 1;
      }
    }
    if (found < 0) return null;
    const seg = segs[found];
    const node = seg.firstChild;
    if (!node || node.nodeType !== Node.TEXT_NODE) return null;
    const chars = Array.from(node.data);
    const into = cp - Number(seg.dataset.s);
    if (into > chars.length) return null;
    return [node, chars.slice(0, into).join("").length];
  }

  function rangeOf(box, start, end) {
    const a = boundary(box, start);
    const b = boundary(box, end);
    if (!a || !b || !(end > start)) return null;
    const range = document.createRange();
    range.setStart(a[0], a[1]);
    range.setEnd(b[0], b[1]);
    return range;
  }

  /* Named highlights over the text (the CSS Custom Highlight API): marks drawn over
   * ranges without touching the DOM, so the segments and their offsets stay as they are. */
  const canHighlight = !!(window.CSS && CSS.highlights && typeof Highlight === "function");
  function markSpan(box, name, start, end) {
    if (!canHighlight) return;
    const range = box && rangeOf(box, Number(start), Number(end));
    if (range) CSS.highlights.set(name, new Highlight(range));
    else CSS.highlights.delete(name);
  }
  function unmark(name) {
    if (canHighlight) CSS.highlights.delete(name);
  }

  /* --- The text's boundaries in code points: characters as people see them
   * (grapheme clusters: "e" + a combining accent is one), words, sentences,
   * paragraphs. Computed once per text (Intl.Segmenter, in the text's language). */
  let cached = null;
  function model(box) {
    const text = box.textContent;
    if (cached && cached.text === text) return cached;
    const cpOf = new Int32Array(text.length + 1); // UTF-16 index → code-point index
    let cp = 0;
    for (let i = 0; i < text.length; cp++) {
      const wide = text.codePointAt(i) > 0xffff;
      cpOf[i] = cp;
      if (wide) cpOf[i + 1] = cp + 1;
      i += wide ? 2 : 1;
    }
    cpOf[text.length] = cp;
    const chars = Array.from(text);
    const lang = box.lang && box.lang !== "und" ? box.lang : undefined;
    const segmenter = (granularity) => (window.Intl && Intl.Segmenter ? new Intl.Segmenter(lang, { granularity: granularity }) : null);
    const graphemes = [];
    const wordStarts = [];
    const wordEnds = [];
    const sentenceStarts = [];
    const sentenceEnds = [];
    const bySegment = segmenter("grapheme");
    if (bySegment) for (const part of bySegment.segment(text)) graphemes.push(cpOf[part.index]);
    else for (let i = 0; i < chars.length; i++) graphemes.push(i);
    graphemes.push(chars.length);
    const byWord = segmenter("word");
    if (byWord) {
      for (const part of byWord.segment(text)) {
        if (!part.isWordLike) continue;
        wordStarts.push(cpOf[part.index]);
        wordEnds.push(cpOf[part.index + part.segment.length]);
      }
    }
    const bySentence = segmenter("sentence");
    if (bySentence) {
      for (const part of bySentence.segment(text)) {
        const trimmed = part.segment.replace(/\s+$/u, "");
        if (!trimmed.trim()) continue;
        const lead = part.segment.length - part.segment.replace(/^\s+/u, "").length;
        sentenceStarts.push(cpOf[part.index + lead]);
        sentenceEnds.push(cpOf[part.index + trimmed.length]);
      }
    }
    // Where a quotation ends: before its closing mark and the comma that hands over to
    // the attribution ("…on the issue,” Gallant said"), as quotes are marked.
    const quotationEnds = [];
    chars.forEach(function (char, i) {
      if (!/[”»"]/.test(char) || (char === '"' && (i === 0 || /\s/.test(chars[i - 1])))) return;
      let end = i;
      while (end > 0 && /[,\s]/.test(chars[end - 1])) end--;
      if (!quotationEnds.length || quotationEnds[quotationEnds.length - 1] < end) quotationEnds.push(end);
    });
    const paragraphStarts = [0];
    const paragraphEnds = [];
    chars.forEach(function (char, i) {
      if (char !== "\n") return;
      if (i > 0 && chars[i - 1] !== "\n") paragraphEnds.push(i);
      if (i + 1 < chars.length && chars[i + 1] !== "\n") paragraphStarts.push(i + 1);
    });
    paragraphEnds.push(chars.length);
    cached = { text, cpOf, chars, graphemes, wordStarts, wordEnds, sentenceStarts, sentenceEnds, quotationEnds, paragraphStarts, paragraphEnds };
    return cached;
  }

  /* The first boundary after pos, or the last one before it (sorted arrays). */
  function after(list, pos, fallback) {
    let low = 0;
    let high = list.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (list[mid] <= pos) low = mid + 1;
      else high = mid;
    }
    return low < list.length ? list[low] : fallback;
  }
  function before(list, pos, fallback) {
    let low = 0;
    let high = list.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (list[mid] < pos) low = mid + 1;
      else high = mid;
    }
    return low > 0 ? list[low - 1] : fallback;
  }

  const rtl = /[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]/;

  /* Where the caret at cp is drawn: the leading edge of the character after it, else
   * the trailing edge of the one before it (an empty line: a collapsed range). */
  function caretRect(box, cp) {
    const m = model(box);
    const next = after(m.graphemes, cp, m.chars.length);
    if (cp < m.chars.length && m.chars[cp] !== "\n") {
      const range = rangeOf(box, cp, next);
      const rect = range && range.getClientRects()[0];
      if (rect) return { x: rtl.test(m.chars[cp]) ? rect.right : rect.left, top: rect.top, height: rect.height };
    }
    const previous = before(m.graphemes, cp, 0);
    if (cp > 0 && m.chars[cp - 1] !== "\n") {
      const range = rangeOf(box, previous, cp);
      const rects = range ? range.getClientRects() : [];
      const rect = rects[rects.length - 1];
      if (rect) return { x: rtl.test(m.chars[cp - 1]) ? rect.left : rect.right, top: rect.top, height: rect.height };
    }
    // An empty line between paragraphs: as many lines above the next text as newlines before it.
    let nextText = cp;
    while (nextText < m.chars.length && m.chars[nextText] === "\n") nextText++;
    const style = window.getComputedStyle(box);
    const lineHeight = parseFloat(style.lineHeight) || 20;
    const below = nextText < m.chars.length ? rangeOf(box, nextText, after(m.graphemes, nextText, m.chars.length)) : null;
    const rect = below && below.getClientRects()[0];
    const boxRect = box.getBoundingClientRect();
    const x = boxRect.left + parseFloat(style.paddingLeft);
    if (!rect) return { x: x, top: boxRect.bottom - parseFloat(style.paddingBottom) - lineHeight, height: lineHeight };
    return { x: x, top: rect.top - (nextText - cp) * lineHeight, height: rect.height };
  }

  /* A short reading of a stretch of text for the screen reader: long ones by their ends. */
  function spoken(text) {
    if (text === " ") return "space";
    if (text === "\n" || text === "\n\n") return "new line";
    const words = text.trim().split(/\s+/);
    if (words.length > 16) return words.slice(0, 8).join(" ") + " … " + words.slice(-6).join(" ");
    return text.trim() || "space";
  }

  /* --- Keyboard selection ("caret mode") over the text box returned by getBox().
   * options.pick(): what Enter does with the selection (the page's mouse-up path);
   * options.announce(text): the page's live region; options.startAt(): where the caret
   * starts ({anchor, focus} in code points) or null for the paragraph in view. */
  function keyboardSelection(getBox, options) {
    let active = false;
    let anchor = 0;
    let focus = 0;
    let marking = false; // "v": every movement extends the selection
    let goalX = null; // the column Up / Down keep to
    let caret = null;

    function box() {
      return getBox();
    }

    /* The box scrolls on its own on the curation page (the page scrolls on the annotate page). */
    function scroller() {
      const b = box();
      return b.scrollHeight > b.clientHeight + 1 && /auto|scroll/.test(window.getComputedStyle(b).overflowY) ? b : null;
    }

    function drawCaret(pass) {
      pass = pass || 0;
      const rect = caretRect(box(), focus);
      if (!caret) {
        caret = document.createElement("div");
        caret.className = "text-caret";
        caret.setAttribute("aria-hidden", "true");
      }
      if (!caret.isConnected) document.body.append(caret);
      if (!rect) {
        caret.hidden = true;
        return null;
      }
      // Keep it in view: first in a box that scrolls on its own, then on the page, clear
      // of the sticky bar over the text.
      const own = scroller();
      const view = own ? own.getBoundingClientRect() : null;
      if (pass < 1 && view && (rect.top < view.top || rect.top + rect.height > view.bottom)) {
        own.scrollTop += rect.top - view.top - view.height / 3;
        return drawCaret(1);
      }
      const bar = document.querySelector(".reading-bar");
      const top = bar ? bar.getBoundingClientRect().bottom + 8 : 8;
      if (pass < 2 && (rect.top < top || rect.top + rect.height > window.innerHeight - 8)) {
        window.scrollBy({ top: rect.top - window.innerHeight / 3 });
        return drawCaret(2);
      }
      // Scrolled out of its own box: not drawn over what is around it.
      caret.hidden = !!view && (rect.top < view.top || rect.top + rect.height > view.bottom);
      caret.style.left = rect.x + window.scrollX - 1 + "px";
      caret.style.top = rect.top + window.scrollY + "px";
      caret.style.height = rect.height + "px";
      return rect;
    }

    function paragraphInView() {
      const m = model(box());
      const bar = document.querySelector(".reading-bar");
      const own = scroller();
      const top = Math.max(bar ? bar.getBoundingClientRect().bottom : 0, own ? own.getBoundingClientRect().top : 0, 0);
      for (const start of m.paragraphStarts) {
        const rect = caretRect(box(), start);
        if (rect && rect.top >= top) return start;
      }
      return m.paragraphStarts[m.paragraphStarts.length - 1] || 0;
    }

    function show() {
      const b = box();
      const a = boundary(b, anchor);
      const f = boundary(b, focus);
      if (a && f) window.getSelection().setBaseAndExtent(a[0], a[1], f[0], f[1]);
      drawCaret();
    }

    function say(passed) {
      const m = model(box());
      if (anchor !== focus) {
        const text = m.chars.slice(Math.min(anchor, focus), Math.max(anchor, focus)).join("");
        options.announce("Selected: " + spoken(text));
      } else if (passed) {
        options.announce(spoken(passed));
      }
    }

    function start() {
      const b = box();
      if (!b) return;
      const at = (options.startAt && options.startAt()) || null;
      anchor = at ? at.anchor : paragraphInView();
      focus = at ? at.focus : anchor;
      marking = false;
      goalX = null;
      active = true;
      b.classList.add("caret-mode");
      if (document.activeElement !== b) b.focus({ preventScroll: true });
      show();
      const m = model(b);
      const where = anchor === focus ? "at «" + spoken(m.chars.slice(focus, after(m.wordEnds, focus, m.chars.length)).join("")) + "»" : "";
      options.announce(
        "Caret in the text " +
          where +
          ". Arrows move it, Shift+arrows select, v starts a selection, Enter makes it a quote, Esc leaves." +
          (anchor !== focus ? " Selected: " + spoken(m.chars.slice(anchor, focus).join("")) : "")
      );
    }

    function stop(keepSelection) {
      if (!active) return;
      active = false;
      marking = false;
      const b = box();
      if (b) b.classList.remove("caret-mode");
      if (caret) caret.hidden = true;
      if (!keepSelection) {
        const selection = window.getSelection();
        if (b && selection.rangeCount && b.contains(selection.anchorNode)) selection.removeAllRanges();
      }
    }

    function verticalMove(direction) {
      const rect = drawCaret();
      if (!rect) return focus;
      if (goalX === null) goalX = rect.x;
      const b = box();
      const boxRect = b.getBoundingClientRect();
      for (let step = 1; step <= 4; step++) {
        const y = direction > 0 ? rect.top + rect.height * (0.5 + step) : rect.top + rect.height * (0.5 - step);
        if (y < boxRect.top) return 0;
        if (y > boxRect.bottom) return model(b).chars.length;
        const range = document.caretRangeFromPoint ? document.caretRangeFromPoint(goalX, y) : null;
        if (!range || !b.contains(range.startContainer)) continue;
        const cp = toCodePoint(b, range.startContainer, range.startOffset);
        if (cp === null || cp === focus) continue;
        // The end of the line the caret is on is no line further (an empty line's point can land there).
        const landed = caretRect(b, cp);
        if (landed && (direction > 0 ? landed.top > rect.top + rect.height / 2 : landed.top < rect.top - rect.height / 2)) return cp;
      }
      return focus;
    }

    /* The position a movement key takes the caret to, or null for a key that isn't one. */
    function target(event) {
      const m = model(box());
      const n = m.chars.length;
      const byWord = event.ctrlKey || event.altKey;
      switch (event.key) {
        case "ArrowRight":
          return byWord ? after(m.wordEnds, focus, n) : after(m.graphemes, focus, n);
        case "ArrowLeft":
          return byWord ? before(m.wordStarts, focus, 0) : before(m.graphemes, focus, 0);
        case "ArrowDown":
          return verticalMove(1);
        case "ArrowUp":
          return verticalMove(-1);
        case "Home":
          return before(m.paragraphStarts, focus + 1, 0) === focus ? before(m.paragraphStarts, focus, 0) : before(m.paragraphStarts, focus + 1, 0);
        case "End":
          return after(m.paragraphEnds, focus - 1, n) === focus ? after(m.paragraphEnds, focus, n) : after(m.paragraphEnds, focus - 1, n);
        case "w":
        case "W":
          return after(m.wordStarts, focus, n);
        case "b":
        case "B":
          return before(m.wordStarts, focus, 0);
        case "e":
        case "E":
          return after(m.wordEnds, focus, n);
        case ")":
          return after(m.sentenceEnds, focus, n);
        case "(":
          return before(m.sentenceStarts, focus, 0);
        case '"':
          return after(m.quotationEnds, focus, n);
      }
      return null;
    }

    document.addEventListener(
      "keydown",
      function (event) {
        if (!active) return;
        const b = box();
        if (!b || document.activeElement !== b || document.querySelector("dialog[open]")) {
          stop(true);
          return;
        }
        if (event.metaKey) return;
        const key = event.key;
        if (key === "Escape") {
          event.preventDefault();
          event.stopPropagation();
          stop(false);
          options.announce("Left the caret mode.");
          return;
        }
        if ((key === "Enter" || key === "q") && !event.ctrlKey && !event.altKey) {
          event.preventDefault();
          event.stopPropagation();
          if (anchor === focus) {
            options.announce("Nothing selected: Shift+arrows or v then arrows select.");
            return;
          }
          stop(true);
          options.pick();
          return;
        }
        if (key === "v" && !event.ctrlKey && !event.altKey) {
          event.preventDefault();
          event.stopPropagation();
          marking = !marking;
          if (!marking) anchor = focus;
          show();
          options.announce(marking ? "Selecting from here: move to extend." : "Selection cleared.");
          return;
        }
        if (event.ctrlKey && !["ArrowLeft", "ArrowRight"].includes(key)) return;
        const to = target(event);
        if (to === null) return;
        event.preventDefault();
        event.stopPropagation();
        if (!["ArrowUp", "ArrowDown"].includes(key)) goalX = null;
        // Shift extends, except on ( and ), which most layouts type with Shift: v, then them.
        // " selects to the quotation's end, whatever the layout types it with.
        const extend = marking || key === '"' || (event.shiftKey && !/^[()]$/.test(key));
        let destination = to;
        if (!extend && anchor !== focus && (key === "ArrowLeft" || key === "ArrowRight") && !event.ctrlKey && !event.altKey) {
          // A plain arrow over a selection lands on its edge, as in any editor.
          destination = key === "ArrowLeft" ? Math.min(anchor, focus) : Math.max(anchor, focus);
        }
        const from = focus;
        focus = destination;
        if (!extend) anchor = focus;
        show();
        say(model(b).chars.slice(Math.min(from, focus), Math.max(from, focus)).join(""));
      },
      true
    );
    // The mouse takes over: the caret goes, the mouse's selection stays.
    document.addEventListener("mousedown", function (event) {
      const b = box();
      if (active && b && b.contains(event.target)) stop(true);
    });
    document.addEventListener("focusout", function (event) {
      const b = box();
      if (active && b && event.target === b && !document.hidden) stop(true);
    });
    window.addEventListener("resize", function () {
      if (active) drawCaret(2);
    });
    // The box scrolled under the caret (the wheel, the scroll bar): it moves with the text.
    document.addEventListener(
      "scroll",
      function (event) {
        if (active && event.target === box()) drawCaret(2);
      },
      true
    );
    // The text is redrawn after a save (the same code points, new nodes): put the selection back.
    document.body.addEventListener("htmx:afterSettle", function () {
      if (active && box()) show();
    });

    return {
      start: start,
      stop: stop,
      isActive: () => active,
    };
  }

  window.DemarcheText = {
    codePoints: codePoints,
    toCodePoint: toCodePoint,
    selectionIn: selectionIn,
    boundary: boundary,
    rangeOf: rangeOf,
    canHighlight: canHighlight,
    markSpan: markSpan,
    unmark: unmark,
    codePointOf16: (box, index) => model(box).cpOf[index],
    // Where the caret's words and sentences end, as it counts them (in code points).
    boundaries: function (box) {
      const m = model(box);
      return { graphemes: m.graphemes, wordEnds: m.wordEnds, sentenceEnds: m.sentenceEnds, quotationEnds: m.quotationEnds };
    },
    keyboardSelection: keyboardSelection,
  };
})();
