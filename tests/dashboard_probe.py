"""What the dashboard tests read from the rendered page (headless Chromium), shared by the dashboard test files."""

CHARTS = (
    "new_patients",
    "cohort_size",
    "attrition",
    "primary_flags",
    "overlap",
    "care_gaps",
    "prevalence",
    "age_band",
    "sex",
)
# Everything the test reads from the rendered page, as JSON. Marks are counted per named layer: `published` draws
# one mark per published mart cell, `hidden` one grey tick per hidden cell.
PROBE = r"""JSON.stringify({
  charts: [...document.querySelectorAll("figure.chart")].map(f => {
    const marks = (kind) => [...f.querySelectorAll("g.role-mark")]
      .filter(g => [...g.classList].some(c => new RegExp("^" + kind + "(_\\d+)?_marks$").test(c)))
      .reduce((n, g) => n + g.children.length, 0);
    const svg = f.querySelector(".vis svg");
    const labelledBy = svg && svg.getAttribute("aria-labelledby");
    return {
      name: f.dataset.chart,
      title: f.querySelector("h2").textContent.trim(),
      role: svg ? svg.getAttribute("role") : null,
      accessibleName: labelledBy ? document.getElementById(labelledBy).textContent : null,
      published: marks("published"),
      hidden: marks("hidden"),
      tooltips: svg ? svg.querySelectorAll("title").length : 0,
      note: (f.querySelector("[data-hidden-note]") || {}).textContent || null,
      empty: !!f.querySelector(".empty"),
      table: [...f.querySelectorAll("details table tbody tr")].map(r => [...r.cells].map(c => c.textContent)),
      download: (f.querySelector("a[download]") || {}).download || null,
    };
  }),
  headline: Object.fromEntries([...document.querySelectorAll("[data-headline]")]
    .map(e => [e.dataset.headline, e.textContent.trim()])),
  version: document.getElementById("phenotype-version").textContent.trim(),
  runTime: document.getElementById("run-time").textContent.trim(),
  note: document.getElementById("suppression-note").textContent.replace(/\s+/g, " ").trim(),
  scripts: document.scripts.length,
  links: document.querySelectorAll("link, img, iframe").length,
  definitionLink: !!document.querySelector('a[href="definition.html"]'),
  diffState: document.getElementById("version-diff").dataset.state,
  diff: [...document.querySelectorAll("#diff-table tbody tr")]
    .map(r => [r.dataset.flag, ...[...r.querySelectorAll("td")].slice(1).map(td => td.textContent.trim())]),
})"""
