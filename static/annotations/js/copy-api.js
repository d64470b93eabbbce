// "Copy API URL" beside a statistic: shows the buttons (hidden without JavaScript,
// where the read-only field is still there to select) and copies the field's URL.
"use strict";
document.querySelectorAll("button.copy-api").forEach((button) => {
  const field = document.getElementById(button.dataset.copy);
  if (!field || !navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener("click", () => {
    const url = new URL(field.value, window.location.href).href;
    navigator.clipboard.writeText(url).then(
      () => { button.textContent = "Copied"; },
      () => { field.select(); },
    );
  });
});
