/* The target combobox (the ARIA 1.2 combobox pattern with a listbox popup), shared by
 * the annotate page's stance rows and the curation page's editor (window.DemarcheCombobox).
 *
 * The server renders a native <select> (it works without JavaScript); here it
 * becomes a text input that filters its options by name and by path
 * ("Parent › Child"), and a hidden input carrying the same field name and the
 * target id, so the form posts exactly what the select did. A page says what a
 * pick means to it through configure()'s hooks.
 */
(function () {
  "use strict";

  const hooks = {
    canPropose: () => false, // offer "Propose “…” as a new target" when nothing matches
    propose: function () {},
    picked: function () {}, // (input, option) after a target is picked
    typed: function () {}, // (input) typing replaced a picked target
    key: () => false, // (event, input) a printable key in a closed box: true if the page took it
  };

  const fold = (s) => s.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();
  const combos = new WeakMap();
  let comboCount = 0;

  function enhanceTargets(root) {
    root.querySelectorAll("select.target-select").forEach(function (select) {
      const options = Array.from(select.options)
        .filter((option) => option.value)
        .map((option) => ({ id: option.value, path: option.textContent, key: fold(option.textContent) }));
      const picked = options.find((option) => option.id === select.value);
      const listId = "target-list-" + ++comboCount;
      const input = document.createElement("input");
      input.type = "text";
      input.id = select.id;
      input.className = "target-combobox";
      input.autocomplete = "off";
      input.spellcheck = false;
      input.placeholder = "Type to search targets…";
      input.setAttribute("role", "combobox");
      input.setAttribute("aria-autocomplete", "list");
      input.setAttribute("aria-expanded", "false");
      input.setAttribute("aria-controls", listId);
      ["aria-invalid", "aria-describedby"].forEach(function (name) {
        if (select.hasAttribute(name)) input.setAttribute(name, select.getAttribute(name));
      });
      input.value = picked ? picked.path : "";
      const hidden = document.createElement("input");
      hidden.type = "hidden";
      hidden.name = select.name;
      hidden.value = picked ? picked.id : "";
      const list = document.createElement("ul");
      list.id = listId;
      list.className = "options combo-options";
      list.setAttribute("role", "listbox");
      list.setAttribute("aria-label", "Targets");
      list.hidden = true;
      const wrap = document.createElement("div");
      wrap.className = "combobox";
      wrap.append(input, hidden, list);
      select.replaceWith(wrap);
      combos.set(input, { options: options, hidden: hidden, list: list, matches: [], active: -1 });
    });
  }

  function comboOf(element) {
    return element && element.matches && element.matches("input.target-combobox") ? combos.get(element) : undefined;
  }

  function comboOpen(input) {
    return input.getAttribute("aria-expanded") === "true";
  }

  function openCombo(input) {
    const combo = combos.get(input);
    const words = fold(input.value.trim()).split(/\s+/).filter(Boolean);
    // A picked target's own path in the box shows every target, not just itself.
    const showAll = !words.length || combo.hidden.value !== "";
    combo.matches = combo.options.filter((option) => showAll || words.every((word) => option.key.includes(word)));
    if (!showAll) {
      // Targets whose own name matches come before those matched only through a parent's.
      const own = (option) => (words.every((word) => option.key.split(" › ").pop().includes(word)) ? 0 : 1);
      combo.matches.sort((a, b) => own(a) - own(b));
    }
    combo.list.replaceChildren();
    combo.matches.forEach(function (option, index) {
      const item = document.createElement("li");
      item.id = combo.list.id + "-" + index;
      item.setAttribute("role", "option");
      item.dataset.id = option.id;
      const parts = option.path.split(" › ");
      const name = parts.pop();
      if (parts.length) {
        const parent = document.createElement("span");
        parent.className = "path";
        parent.textContent = parts.join(" › ") + " › ";
        item.append(parent);
      }
      item.append(document.createTextNode(name));
      item.setAttribute("aria-selected", "false");
      combo.list.append(item);
    });
    if (!combo.matches.length) {
      const empty = document.createElement("li");
      empty.className = "empty";
      empty.textContent = "No target matches “" + input.value.trim() + "”.";
      combo.list.append(empty);
    }
    // No target matches what the analyst typed: offer to propose it.
    const typed = input.value.trim();
    if (hooks.canPropose() && typed && !showAll && !combo.matches.length) {
      const item = document.createElement("li");
      item.id = combo.list.id + "-" + combo.matches.length;
      item.setAttribute("role", "option");
      item.setAttribute("aria-selected", "false");
      item.className = "propose";
      item.textContent = "Propose “" + typed + "” as a new target…";
      combo.list.append(item);
      combo.matches.push({ id: null, path: typed, key: "", propose: true });
    }
    combo.list.hidden = false;
    input.setAttribute("aria-expanded", "true");
    const current = combo.matches.findIndex((option) => option.id === combo.hidden.value);
    setActive(input, current >= 0 ? current : words.length && !showAll ? 0 : -1);
  }

  function closeCombo(input) {
    const combo = combos.get(input);
    if (!combo) return;
    combo.list.hidden = true;
    combo.active = -1;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  function setActive(input, index) {
    const combo = combos.get(input);
    const items = combo.list.querySelectorAll("[role=option]");
    if (!items.length) index = -1;
    else index = Math.max(-1, Math.min(index, items.length - 1));
    items.forEach((item, i) => item.setAttribute("aria-selected", String(i === index)));
    combo.active = index;
    if (index >= 0) {
      input.setAttribute("aria-activedescendant", items[index].id);
      items[index].scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function pickTarget(input, index) {
    const combo = combos.get(input);
    const option = combo.matches[index];
    if (!option) return;
    if (option.propose) {
      closeCombo(input);
      hooks.propose(input, option.path);
      return;
    }
    combo.hidden.value = option.id;
    input.value = option.path;
    input.removeAttribute("aria-invalid");
    closeCombo(input);
    hooks.picked(input, option);
  }

  function comboKeydown(event, input) {
    const combo = combos.get(input);
    const open = comboOpen(input);
    switch (event.key) {
      case "ArrowDown":
        event.preventDefault();
        if (!open || event.altKey) openCombo(input);
        else setActive(input, combo.active + 1);
        return true;
      case "ArrowUp":
        event.preventDefault();
        if (open) setActive(input, combo.active - 1);
        return true;
      case "Enter":
        if (event.ctrlKey || event.metaKey) return false; // Ctrl+Enter saves
        // Never the form's implicit submit from this box.
        event.preventDefault();
        if (open) pickTarget(input, combo.active >= 0 ? combo.active : 0);
        return true;
      case "Escape":
        if (!open) return false; // the panel's Esc
        event.preventDefault();
        closeCombo(input);
        return true;
      case "Tab":
        closeCombo(input);
        return false;
    }
    if (open || event.ctrlKey || event.metaKey || event.altKey || event.key.length !== 1) return false;
    // Closed list, a printable key: the page's own keys first (a label key labels the row); any other starts a search.
    if (hooks.key(event, input)) return true;
    openCombo(input);
    return false;
  }


  document.addEventListener("click", function (event) {
    const option = event.target.closest(".combo-options [role=option]");
    if (option) {
      const input = option.closest(".combobox").querySelector("input.target-combobox");
      pickTarget(input, Array.from(option.parentNode.querySelectorAll("[role=option]")).indexOf(option));
      return;
    }
    const input = event.target.closest("input.target-combobox");
    if (input && !comboOpen(input)) openCombo(input);
  });

  // A box with no target picked yet is for searching: show the list straight away.
  document.addEventListener("focusin", function (event) {
    const combo = comboOf(event.target);
    if (combo && !combo.hidden.value && !comboOpen(event.target)) openCombo(event.target);
  });

  document.addEventListener("focusout", function (event) {
    const combo = comboOf(event.target);
    if (!combo) return;
    const wrap = event.target.closest(".combobox");
    if (event.relatedTarget && wrap.contains(event.relatedTarget)) return;
    closeCombo(event.target);
    if (!combo.hidden.value) {
      // A typed name that is exactly one target's name or path picks it, as the select would.
      const typed = fold(event.target.value.trim());
      const exact = combo.options.filter((option) => option.key === typed || fold(option.path.split(" › ").pop()) === typed);
      if (typed && exact.length === 1) {
        combo.hidden.value = exact[0].id;
        event.target.value = exact[0].path;
      }
    }
  });

  /* A click in the list must not blur the box first (the list would close under the pointer). */
  document.addEventListener("mousedown", function (event) {
    if (event.target.closest(".combo-options")) event.preventDefault();
  });

  document.addEventListener("input", function (event) {
    const combo = comboOf(event.target);
    if (!combo) return;
    // Typed text replaces a picked target until one is picked again.
    combo.hidden.value = "";
    hooks.typed(event.target);
    openCombo(event.target);
  });

  /* A target added while the page is open (a proposal) joins every box. */
  function addOption(id, path) {
    const option = { id: id, path: path, key: fold(path) };
    document.querySelectorAll("input.target-combobox").forEach(function (input) {
      const combo = combos.get(input);
      if (combo && !combo.options.some((known) => known.id === id)) combo.options.push(option);
    });
    return option;
  }

  window.DemarcheCombobox = {
    configure: (page) => Object.assign(hooks, page),
    enhance: enhanceTargets,
    of: comboOf,
    isOpen: comboOpen,
    open: openCombo,
    close: closeCombo,
    pick: pickTarget,
    keydown: comboKeydown,
    addOption: addOption,
  };
})();
