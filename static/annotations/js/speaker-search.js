/* The speaker's active search, shared by the annotate page's quote form and the curation
 * page's editor (window.DemarcheSpeakerSearch). In a .speaker-picker: the search box
 * (speaker_query, a combobox whose list is the server's results, _speaker_results.html,
 * swapped in by htmx), the results (.results) and the form's hidden speaker field, which
 * carries the picked speaker's id. A page says what a pick means to it through configure().
 */
(function () {
  "use strict";

  const hooks = { picked: function () {} }; // (form, name) after a speaker is picked
  const pickerOf = (element) => (element && element.closest ? element.closest(".speaker-picker") : null);

  function set(form, id, name) {
    form.elements.speaker.value = id;
    const query = form.elements.speaker_query;
    query.value = name;
    query.setAttribute("aria-expanded", "false");
    const picker = pickerOf(query);
    const results = picker && picker.querySelector(".results");
    if (results) results.replaceChildren();
    hooks.picked(form, name);
  }

  document.addEventListener("click", function (event) {
    const option = event.target.closest(".speaker-picker .speaker-option");
    if (option) set(option.closest("form"), option.dataset.id, option.dataset.name);
  });

  // A typed name replaces a picked speaker until one is picked again (or the server
  // resolves the name on save).
  document.addEventListener("input", function (event) {
    if (event.target.name === "speaker_query" && pickerOf(event.target)) event.target.form.elements.speaker.value = "";
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "ArrowDown" || event.target.name !== "speaker_query") return;
    const picker = pickerOf(event.target);
    const first = picker && picker.querySelector(".results .speaker-option");
    if (first) {
      event.preventDefault();
      first.focus();
    }
  });

  document.body.addEventListener("htmx:afterSwap", function (event) {
    const target = event.detail.target;
    const picker = pickerOf(target);
    if (!picker || !target.matches(".results")) return;
    const query = picker.querySelector("[name=speaker_query]");
    if (query) query.setAttribute("aria-expanded", String(!!target.querySelector(".speaker-option")));
  });

  window.DemarcheSpeakerSearch = {
    configure: (page) => Object.assign(hooks, page),
    set: set,
  };
})();
