/* The dataset page's "Copy" buttons: copy a release's CITATION.cff or BibTeX
 * (the <pre> the button names in data-copy) to the clipboard. Without this
 * script (or a clipboard) the buttons stay hidden and the text stays selectable.
 */
(function () {
  "use strict";

  document.addEventListener("DOMContentLoaded", function () {
    if (!navigator.clipboard) return;
    document.querySelectorAll("button[data-copy]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        const source = document.getElementById(button.dataset.copy);
        if (!source) return;
        navigator.clipboard.writeText(source.textContent).then(function () {
          button.textContent = "Copied";
          window.setTimeout(function () { button.textContent = "Copy"; }, 2000);
        });
      });
    });
  });
})();
