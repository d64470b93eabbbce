/* Ctrl+Z (⌘Z on a Mac) on the annotate page: press the "Undo" button that the
 * last delete or edit left in the panel, if it is still there. The server
 * decides whether the undo is allowed (a minute, nothing changed since, not
 * submitted). Inside a text field Ctrl+Z keeps undoing the typing.
 */
(function () {
  "use strict";

  document.addEventListener("keydown", function (event) {
    if (!(event.ctrlKey || event.metaKey) || event.shiftKey || event.altKey) return;
    if (event.key !== "z" && event.key !== "Z") return;
    const target = event.target;
    if (target instanceof Element && target.closest("input, textarea, select, [contenteditable]")) return;
    const button = document.querySelector("#quote-panel form.undo button[type=submit]");
    if (!button) return;
    event.preventDefault();
    button.click();
  });
})();
