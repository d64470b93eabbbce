/* Ctrl+Z (⌘Z on a Mac) on the annotate and curation pages: press the "Undo"
 * button that the last delete or edit left beside its message, if it is still
 * there (templates/annotations/_undo_form.html; a page shows one at most). The
 * server decides whether the undo is allowed (a minute, nothing changed since,
 * not submitted). Inside a text field Ctrl+Z keeps undoing the typing.
 */
(function () {
  "use strict";

  document.addEventListener("keydown", function (event) {
    if (!(event.ctrlKey || event.metaKey) || event.shiftKey || event.altKey) return;
    if (event.key !== "z" && event.key !== "Z") return;
    const target = event.target;
    if (target instanceof Element && target.closest("input, textarea, select, [contenteditable]")) return;
    const button = document.querySelector("form.undo button[type=submit]");
    if (!button) return;
    event.preventDefault();
    button.click();
  });
})();
