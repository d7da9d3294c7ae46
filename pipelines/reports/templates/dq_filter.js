"use strict";
// Filters the check table by status, severity, category and table; the state is kept in the URL fragment.
(function () {
  const root = document.getElementById("check-filters");
  const boxes = [...root.querySelectorAll("input[data-dim]")];
  const rows = [...document.querySelectorAll("#checks > tbody > tr")];
  const count = document.getElementById("shown-count");
  function apply() {
    const off = boxes.filter((b) => !b.checked).map((b) => [b.dataset.dim, b.value]);
    let shown = 0;
    for (const row of rows) {
      row.hidden = off.some(([dim, value]) => row.dataset[dim] === value);
      if (!row.hidden) shown += 1;
    }
    count.textContent = `Showing ${shown} of ${rows.length} checks`;
    history.replaceState(null, "", "#" + off.map(([d, v]) => `${d}=${encodeURIComponent(v)}`).join("&"));
  }
  const saved = new URLSearchParams(location.hash.slice(1));
  if (location.hash.length > 1) {
    for (const b of boxes) b.checked = !saved.getAll(b.dataset.dim).includes(b.value);
  }
  root.addEventListener("change", apply);
  apply();
})();
