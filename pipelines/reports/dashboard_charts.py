"""The dashboard's charts, from the published marts (see `dashboard.dashboard_data`), as `charts.Chart`s.

Every number a chart shows is a published mart value, or arithmetic on published values that a reader could do by
hand (excluded = previous step - remaining, % retained, % of cohort): nothing hidden is re-derived. A hidden cell is
a grey tick on the baseline labelled "<11", and every chart says in words how many of its cells are hidden.
"""

from __future__ import annotations

import altair as alt

from pipelines.contract.care_gaps import care_gap
from pipelines.contract.flags import PRIMARY_FLAGS
from pipelines.marts.rollup import GRAINS, MAX_HIDDEN_SHARE
from pipelines.reports.charts import (
    BLUE,
    GREY,
    HIDDEN_WORDS,
    LIGHT,
    ORANGE,
    WIDTH,
    Chart,
    cell_counts,
    count_text,
    finish,
    hidden_note,
    percent_text,
)

PLURAL = {"month": "months", "quarter": "quarters", "year": "years"}
# The sequential steps of the attrition mart (the later steps count each primary factor: their own chart).
SEQUENTIAL_STEPS = {
    1: "Patients in the extract",
    2: "With at least one foot or leg cramp",
    3: "With a primary risk factor",
}
GROUP_WORDS = {
    "primary": "Primary risk factor",
    "secondary": "Secondary factor",
    "neuropathy_detail": "Neuropathy type",
    "cramp_pattern": "Cramp pattern",
    "mimic": "Look-alike (mimic)",
    "summary": "Summary",
}
BREAKDOWN_WORDS = {"age_band": "Age band at the first cramp (years)", "sex": "Sex as recorded"}


def _tooltip(*fields: tuple[str, str]) -> list[alt.Tooltip]:
    return [alt.Tooltip(f"{name}:N", title=title) for name, title in fields]


def _hidden_ticks(base: alt.Chart, orient: str, **encoding) -> alt.Chart:
    """Hidden cells: a grey tick at zero (the bar is NULL; Vega-Lite would drop the row)."""
    return (
        base.transform_filter("datum.hidden")
        .mark_tick(color=GREY, thickness=4, orient=orient)
        .encode(description="description:N", **encoding)
        .properties(name="hidden")
    )


# ---- New cramp patients per period (rolled up) and cohort size ----------------------------------------------


def new_patients(data: dict) -> Chart:
    periods, grain = data["periods"], data["grain"]
    values = [
        {
            "period": r["period"],
            "patients": r["new_cramp_patients"] or 0,
            "hidden": r["new_cramp_patients_suppressed"],
            "label": count_text(r["new_cramp_patients"]),
            "description": f"{r['period']}: "
            + (
                HIDDEN_WORDS
                if r["new_cramp_patients_suppressed"]
                else f"{r['new_cramp_patients']:,} new cramp patients"
            ),
        }
        for r in periods
    ]
    hidden = sum(v["hidden"] for v in values)
    notes = []
    if grain != "month" and data["months"]:
        hidden_months, months = data["months"]
        finer = ", ".join(GRAINS[: GRAINS.index(grain)])
        notes.append(
            f"Shown by {grain}: by {finer.replace(', ', ' or by ')}, more than {MAX_HIDDEN_SHARE:.0%} of the periods "
            f"with patients would be hidden ({hidden_months} of {months} months are)."
        )
    merged = [v["period"] for v in values if "–" in v["period"]]
    if merged:
        notes.append(
            f"The extract starts or ends part-way through a {grain}, so {' and '.join(merged)} "
            f"{'joins' if len(merged) == 1 else 'join'} a small edge {grain} to its neighbour."
        )
    if hidden:
        notes.append(hidden_note(hidden, len(values), PLURAL[grain]))
    title = f"New cramp patients per {grain}"
    spec = None
    if hidden < len(values):
        order = [v["period"] for v in values]
        x = alt.X(
            "period:O",
            sort=order,
            scale=alt.Scale(domain=order),
            title=f"{grain.capitalize()} of the first cramp event",
            axis=alt.Axis(labelAngle=0 if len(order) <= 12 else -90, labelOverlap=False),
        )
        base = alt.Chart(alt.Data(values=values))
        tip = _tooltip(("period", grain.capitalize()), ("label", "New cramp patients"))
        bars = (
            base.transform_filter("!datum.hidden")
            .mark_bar(color=BLUE)
            .encode(x=x, y=alt.Y("patients:Q", title="New patients"), description="description:N", tooltip=tip)
            .properties(name="published")
        )
        ticks = _hidden_ticks(base, "horizontal", x=x, y=alt.datum(0), tooltip=tip)
        hidden_text = (
            base.transform_filter("datum.hidden")
            .mark_text(dy=-10, color="#555", fontSize=10)
            .encode(x=x, y=alt.datum(0), text="label:N")
            .properties(name="hidden_label")
        )
        layers = [bars, ticks, hidden_text]
        if len(order) <= 12:
            layers.append(
                base.transform_filter("!datum.hidden")
                .mark_text(dy=-6, fontSize=10)
                .encode(x=x, y="patients:Q", text="label:N")
                .properties(name="value_label")
            )
        spec = finish(alt.layer(*layers).properties(width=WIDTH, height=220))
    return Chart(
        name="new_patients",
        title=title,
        subtitle="By the date of the first cramp event (index date)",
        spec=spec,
        table_header=[grain.capitalize(), "New cramp patients"],
        table_rows=[[v["period"], v["label"]] for v in values],
        csv_name=f"new_cramp_patients_per_{grain}.csv",
        csv_header=[
            "grain",
            "period",
            "first_month",
            "last_month",
            "new_cramp_patients",
            "new_cramp_patients_suppressed",
        ],
        csv_rows=[
            [
                r["grain"],
                r["period"],
                r["first_month"],
                r["last_month"],
                r["new_cramp_patients"],
                r["new_cramp_patients_suppressed"],
            ]
            for r in periods
        ],
        notes=notes,
        shown=len(values) - hidden,
        hidden=hidden,
    )


def cohort_size(data: dict) -> Chart:
    periods, grain = data["periods"], data["grain"]
    values = [
        {
            "period": r["period"],
            "patients": r["cohort_size"] or 0,
            "hidden": r["cohort_size_suppressed"],
            "label": count_text(r["cohort_size"]),
            "description": f"end of {r['period']}: "
            + (
                "hidden (it would give a hidden count away)"
                if r["cohort_size_suppressed"]
                else f"{r['cohort_size']:,} patients in the cohort"
            ),
        }
        for r in periods
    ]
    hidden = sum(v["hidden"] for v in values)
    spec = None
    if hidden < len(values):
        order = [v["period"] for v in values]
        x = alt.X(
            "period:O",
            sort=order,
            scale=alt.Scale(domain=order),
            title=grain.capitalize(),
            axis=alt.Axis(labelAngle=0 if len(order) <= 12 else -90, labelOverlap=False),
        )
        base = alt.Chart(alt.Data(values=values)).transform_filter("!datum.hidden")
        line = base.mark_line(color=BLUE).encode(x=x, y=alt.Y("patients:Q", title="Patients (cumulative)"))
        points = (
            base.mark_point(filled=True, size=50, color=BLUE)
            .encode(
                x=x,
                y="patients:Q",
                description="description:N",
                tooltip=_tooltip(("period", "End of"), ("label", "Cohort size")),
            )
            .properties(name="published")
        )
        spec = finish(alt.layer(line, points).properties(width=WIDTH, height=200))
    notes = []
    if hidden:
        notes.append(
            f"{hidden} of {len(values)} points hidden: a running total next to a hidden count would give it away; "
            "the line joins the points that are shown."
        )
    return Chart(
        name="cohort_size",
        title=f"Cohort size at the end of each {grain}",
        subtitle="Patients whose first cramp event falls on or before the end of the period",
        spec=spec,
        table_header=[grain.capitalize(), "Cohort size"],
        table_rows=[[v["period"], v["label"]] for v in values],
        csv_name=f"cohort_size_per_{grain}.csv",
        csv_header=["grain", "period", "first_month", "last_month", "cohort_size", "cohort_size_suppressed"],
        csv_rows=[
            [r["grain"], r["period"], r["first_month"], r["last_month"], r["cohort_size"], r["cohort_size_suppressed"]]
            for r in periods
        ],
        notes=notes,
        shown=len(values) - hidden,
        hidden=0,  # hidden points are left out of the line, not drawn
    )


# ---- Attrition as OHDSI ATLAS shows it: sequential steps; per-flag counts as their own chart ---------------


def attrition(data: dict) -> Chart:
    steps = [r for r in data["attrition"] if r["step_number"] in SEQUENTIAL_STEPS]
    first = steps[0]["patients"] if steps else None
    values, table, previous = [], [], None
    for i, r in enumerate(steps):
        n, words = r["patients"], SEQUENTIAL_STEPS[r["step_number"]]
        excluded = None if n is None or previous is None else previous - n
        retained = "100.0%" if i == 0 else (percent_text(n, previous) or "–")
        excluded_text = "" if i == 0 else (count_text(excluded) if excluded is not None else "–")
        label = count_text(n) + ("" if i == 0 else f"; {retained} of the step before; {excluded_text} excluded")
        values.append(
            {
                "step": f"{r['step_number']}. {words}",
                "patients": n or 0,
                "hidden": n is None,
                "remaining": count_text(n),
                "excluded": excluded_text,
                "retained": "" if i == 0 else retained,
                "description": f"Step {r['step_number']}, {words.lower()}: {label}",
            }
        )
        table.append(
            [str(r["step_number"]), words, count_text(n), excluded_text, retained, percent_text(n, first) or "–"]
        )
        previous = n
    hidden = sum(v["hidden"] for v in values)
    spec = None
    if values:
        order = [v["step"] for v in values]
        top = max([v["patients"] for v in values] + [1])
        y = alt.Y("step:N", sort=order, title=None, axis=alt.Axis(labelLimit=260, labelFontSize=11))
        base = alt.Chart(alt.Data(values=values))
        tip = _tooltip(
            ("step", "Step"), ("remaining", "Remaining"), ("excluded", "Excluded"), ("retained", "% of the step before")
        )
        bars = (
            base.transform_filter("!datum.hidden")
            .mark_bar(color=BLUE, height=20)
            .encode(
                y=y,
                x=alt.X(
                    "patients:Q",
                    # square-root scale: a cohort of 1 in 10 of the extract stays visible next to it
                    title="Patients remaining (square-root scale)",
                    scale=alt.Scale(type="sqrt", domain=[0, top]),
                    axis=alt.Axis(tickCount=3, format=",d"),
                ),
                description="description:N",
                tooltip=tip,
            )
            .properties(name="published")
        )
        ticks = _hidden_ticks(base, "vertical", y=y, x=alt.datum(0), tooltip=tip)
        left = alt.layer(bars, ticks).properties(width=170, height=alt.Step(34))

        def column(field: str, header: str) -> alt.Chart:
            return (
                base.mark_text(align="right", fontSize=12)
                .encode(y=alt.Y("step:N", sort=order, axis=None), x=alt.value(78), text=f"{field}:N")
                .properties(
                    name=field, width=80, height=alt.Step(34), title=alt.Title(header, fontSize=11, anchor="end")
                )
            )

        columns = [column("remaining", "Remaining"), column("excluded", "Excluded"), column("retained", "% of before")]
        spec = finish(alt.hconcat(left, *columns, spacing=6).resolve_scale(y="shared"))
    return Chart(
        name="attrition",
        title="Attrition: patients remaining at each step",
        subtitle="Each step keeps the patients of the step before who meet one more criterion",
        spec=spec,
        table_header=["Step", "Criterion", "Remaining", "Excluded", "% of the step before", "% of the extract"],
        table_rows=table,
        csv_name="attrition.csv",
        csv_header=["step_number", "step", "patients", "patients_suppressed"],
        csv_rows=[[r["step_number"], r["step"], r["patients"], r["patients_suppressed"]] for r in data["attrition"]],
        **cell_counts(hidden, len(values), "steps"),
    )


# ---- Flag counts -------------------------------------------------------------------------------------------


def primary_flags(data: dict) -> Chart:
    rows = [r for r in data["overall"] if r["flag"] in PRIMARY_FLAGS]
    return _flag_bars(
        rows,
        "primary_flags",
        "Primary risk factors in the cohort",
        "Cohort patients with each primary risk factor; a patient can have several (see the overlap chart)",
        "primary_risk_factors.csv",
    )


def prevalence(data: dict) -> Chart:
    rows = [r for r in data["overall"] if r["flag"] != "any_primary_risk"]
    return _flag_bars(
        rows,
        "prevalence",
        "Risk factors, cramp patterns and look-alikes",
        "Share of cohort patients with each flag",
        "flag_prevalence_overall.csv",
        by_group=True,
    )


def _flag_bars(rows: list[dict], name: str, title: str, subtitle: str, csv_name: str, by_group: bool = False) -> Chart:
    values = []
    for r in rows:
        n, d = r["patients_with_flag"], r["patients_in_group"]
        share = None if n is None or not d else n / d
        label = count_text(n) + (f" ({percent_text(n, d)})" if share is not None else "")
        values.append(
            {
                "flag": r["flag_label"],
                "group": GROUP_WORDS.get(r["flag_group"], r["flag_group"]),
                "share": share or 0,
                "hidden": n is None,
                "label": label,
                "description": f"{r['flag_label']}: " + (HIDDEN_WORDS if n is None else f"{label} of cohort patients"),
            }
        )
    hidden = sum(v["hidden"] for v in values)
    spec = None
    if hidden < len(values):
        order = [v["flag"] for v in values]
        top = max(v["share"] for v in values)
        y = alt.Y("flag:N", sort=order, title=None, axis=alt.Axis(labelLimit=280))
        # at least 0-10% so that a near-empty axis never reads "0% 0% 1% 1%"
        x = alt.X(
            "share:Q",
            title="Share of cohort patients",
            axis=alt.Axis(format=".0%", tickMinStep=0.01),
            scale=alt.Scale(domain=[0, min(1, max(0.1, top * 1.25))]),
        )
        base = alt.Chart(alt.Data(values=values))
        color = (
            alt.Color(
                "group:N",
                title=None,
                sort=list(dict.fromkeys(v["group"] for v in values)),
                legend=alt.Legend(orient="bottom", columns=3),
            )
            if by_group
            else alt.value(BLUE)
        )
        tip = _tooltip(("flag", "Flag"), ("label", "Patients"))
        bars = (
            base.transform_filter("!datum.hidden")
            .mark_bar(height=14)
            .encode(y=y, x=x, color=color, description="description:N", tooltip=tip)
            .properties(name="published")
        )
        ticks = _hidden_ticks(base, "vertical", y=y, x=alt.datum(0), tooltip=tip)
        text = (
            base.mark_text(align="left", dx=4, fontSize=10)
            .encode(y=y, x=x, text="label:N")
            .properties(name="value_label")
        )
        spec = finish(alt.layer(bars, ticks, text).properties(width=WIDTH - 180, height=alt.Step(20)))
    return Chart(
        name=name,
        title=title,
        subtitle=subtitle,
        spec=spec,
        table_header=["Flag", "Patients", "% of cohort"],
        table_rows=[
            [
                v["flag"],
                count_text(r["patients_with_flag"]),
                percent_text(r["patients_with_flag"], r["patients_in_group"]) or "–",
            ]
            for v, r in zip(values, rows, strict=True)
        ],
        csv_name=csv_name,
        csv_header=[
            "flag",
            "flag_label",
            "flag_group",
            "patients_with_flag",
            "patients_in_group",
            "patients_with_flag_suppressed",
            "patients_in_group_suppressed",
        ],
        csv_rows=[
            [
                r["flag"],
                r["flag_label"],
                r["flag_group"],
                r["patients_with_flag"],
                r["patients_in_group"],
                r["patients_with_flag_suppressed"],
                r["patients_in_group_suppressed"],
            ]
            for r in rows
        ],
        **cell_counts(hidden, len(values), "flags"),
    )


# ---- Cohort by age band and by sex -------------------------------------------------------------------------


def breakdown(data: dict, breakdown_name: str) -> Chart:
    rows = [r for r in data["breakdowns"] if r["breakdown"] == breakdown_name]
    series = (("patients_in_group", "All cohort patients"), ("patients_with_flag", "With a primary risk factor"))
    values = []
    for r in rows:
        for column, words in series:
            n = r[column]
            values.append(
                {
                    "group": r["group_value"],
                    "series": words,
                    "patients": n or 0,
                    "hidden": n is None,
                    "label": count_text(n),
                    "description": f"{r['group_value']}, {words.lower()}: "
                    + (HIDDEN_WORDS if n is None else f"{n:,} patients"),
                }
            )
    hidden = sum(v["hidden"] for v in values)
    spec = None
    if hidden < len(values):
        order = [r["group_value"] for r in rows]
        y = alt.Y("group:N", sort=order, title=BREAKDOWN_WORDS[breakdown_name])
        offset = alt.YOffset("series:N", sort=[w for _, w in series])
        color = alt.Color(
            "series:N",
            title=None,
            sort=[w for _, w in series],
            scale=alt.Scale(range=[BLUE, ORANGE]),
            legend=alt.Legend(orient="bottom"),
        )
        base = alt.Chart(alt.Data(values=values))
        tip = _tooltip(("group", "Group"), ("series", "Patients"), ("label", "Count"))
        bars = (
            base.transform_filter("!datum.hidden")
            .mark_bar()
            .encode(
                y=y,
                yOffset=offset,
                x=alt.X("patients:Q", title="Patients"),
                color=color,
                description="description:N",
                tooltip=tip,
            )
            .properties(name="published")
        )
        ticks = _hidden_ticks(base, "vertical", y=y, yOffset=offset, x=alt.datum(0), tooltip=tip)
        text = (
            base.mark_text(align="left", dx=4, fontSize=10)
            .encode(y=y, yOffset=offset, x="patients:Q", text="label:N")
            .properties(name="value_label")
        )
        spec = finish(alt.layer(bars, ticks, text).properties(width=WIDTH - 160, height=alt.Step(16)))
    word = "age band" if breakdown_name == "age_band" else "sex"
    return Chart(
        name=breakdown_name,
        title=f"Cohort by {word}",
        subtitle=f"{BREAKDOWN_WORDS[breakdown_name]}: all cohort patients and those with a primary risk factor",
        spec=spec,
        table_header=[word.capitalize(), "Cohort patients", "With a primary risk factor", "%"],
        table_rows=[
            [
                r["group_value"],
                count_text(r["patients_in_group"]),
                count_text(r["patients_with_flag"]),
                percent_text(r["patients_with_flag"], r["patients_in_group"]) or "–",
            ]
            for r in rows
        ],
        csv_name=f"cohort_by_{breakdown_name}.csv",
        csv_header=[
            "breakdown",
            "group_value",
            "patients_in_group",
            "patients_with_flag",
            "patients_in_group_suppressed",
            "patients_with_flag_suppressed",
        ],
        csv_rows=[
            [
                r["breakdown"],
                r["group_value"],
                r["patients_in_group"],
                r["patients_with_flag"],
                r["patients_in_group_suppressed"],
                r["patients_with_flag_suppressed"],
            ]
            for r in rows
        ],
        **cell_counts(hidden, len(values), "counts"),
    )


# ---- UpSet-style overlap of the four primary risk factors ---------------------------------------------------


def overlap(data: dict) -> Chart:
    labels = {r["flag"]: r["flag_label"] for r in data["overall"]}
    totals = {r["flag"]: r["patients_with_flag"] for r in data["overall"]}
    combos = data["overlap"]
    names = [", ".join(labels.get(f, f) for f in PRIMARY_FLAGS if r[f]) or "None of the four" for r in combos]
    keys = [f"c{i:02d}" for i in range(len(combos))]  # the x field: one column per combination
    bars = [
        {
            "key": k,
            "combination": name,
            "degree": r["primary_flags_set"],
            "patients": r["patients"] or 0,
            "hidden": r["patients_suppressed"],
            "label": count_text(r["patients"]),
            "description": f"{name}: " + (HIDDEN_WORDS if r["patients_suppressed"] else f"{r['patients']:,} patients"),
        }
        for k, name, r in zip(keys, names, combos, strict=True)
    ]
    set_names = [f"{labels.get(f, f)} ({count_text(totals.get(f))})" for f in PRIMARY_FLAGS]
    dots = [
        {"key": k, "set": set_names[j], "member": bool(r[f]), "combination": name}
        for k, name, r in zip(keys, names, combos, strict=True)
        for j, f in enumerate(PRIMARY_FLAGS)
    ]
    hidden = sum(b["hidden"] for b in bars)
    spec = None
    if hidden < len(bars):
        x = alt.X("key:N", sort=keys, axis=None, scale=alt.Scale(domain=keys))
        top = alt.Chart(alt.Data(values=bars))
        tip = _tooltip(("combination", "Risk factors"), ("label", "Patients"))
        size_bars = (
            top.transform_filter("!datum.hidden")
            .mark_bar(color=BLUE)
            .encode(x=x, y=alt.Y("patients:Q", title="Patients"), description="description:N", tooltip=tip)
            .properties(name="published")
        )
        ticks = _hidden_ticks(top, "horizontal", x=x, y=alt.datum(0), tooltip=tip)
        text = (
            top.mark_text(dy=-6, fontSize=10).encode(x=x, y="patients:Q", text="label:N").properties(name="value_label")
        )
        upper = alt.layer(size_bars, ticks, text).properties(width=alt.Step(30), height=160)
        y = alt.Y("set:N", sort=set_names, title=None, axis=alt.Axis(labelLimit=260, domain=False, ticks=False))
        matrix = alt.Chart(alt.Data(values=dots))
        grid = (
            matrix.mark_circle(size=90)
            .encode(
                x=x,
                y=y,
                color=alt.condition("datum.member", alt.value("#222"), alt.value(LIGHT)),
                tooltip=_tooltip(("combination", "Risk factors")),
            )
            .properties(name="matrix")
        )
        link = (
            matrix.transform_filter("datum.member")
            .mark_line(color="#222", strokeWidth=2)
            .encode(x=x, y=y, detail="key:N")
        )
        lower = alt.layer(grid, link).properties(width=alt.Step(30), height=alt.Step(22))
        spec = finish(alt.vconcat(upper, lower, spacing=4).resolve_scale(x="shared"))
    return Chart(
        name="overlap",
        title="Overlap of the primary risk factors",
        subtitle="Columns: cohort patients with exactly that combination (dark dots); rows: each factor's total",
        spec=spec,
        table_header=["Risk factors present", "Number of factors", "Patients"],
        table_rows=[[b["combination"], str(b["degree"]), b["label"]] for b in bars],
        csv_name="risk_factor_overlap.csv",
        csv_header=["combination", *PRIMARY_FLAGS, "primary_flags_set", "patients", "patients_suppressed"],
        csv_rows=[
            [
                r["combination"],
                *[r[f] for f in PRIMARY_FLAGS],
                r["primary_flags_set"],
                r["patients"],
                r["patients_suppressed"],
            ]
            for r in combos
        ],
        **cell_counts(hidden, len(bars), "combinations"),
    )


# ---- Care gaps in clinical words ---------------------------------------------------------------------------


def care_gaps(data: dict) -> Chart:
    cohort = data["headline"]["cohort_patients"]
    values = []
    for r in data["care_gaps"]:
        gap, n = care_gap(r["gap"]), r["patients"]
        label = count_text(n) + (f" ({percent_text(n, cohort)} of the cohort)" if n is not None and cohort else "")
        values.append(
            {
                "gap": gap.label,
                "why": gap.opens_when,
                "patients": n or 0,
                "hidden": n is None,
                "label": label,
                "description": f"{gap.label}: " + (HIDDEN_WORDS if n is None else label),
            }
        )
    hidden = sum(v["hidden"] for v in values)
    spec = None
    if hidden < len(values):
        order = [v["gap"] for v in values]
        y = alt.Y("gap:N", sort=order, title=None, axis=alt.Axis(labelLimit=260))
        top = max(v["patients"] for v in values)
        x = alt.X(
            "patients:Q", title="Cohort patients with the gap open", scale=alt.Scale(domain=[0, max(1, top) * 1.4])
        )
        base = alt.Chart(alt.Data(values=values))
        tip = _tooltip(("gap", "Care gap"), ("why", "Open when"), ("label", "Patients"))
        bars = (
            base.transform_filter("!datum.hidden")
            .mark_bar(color=ORANGE, height=16)
            .encode(y=y, x=x, description="description:N", tooltip=tip)
            .properties(name="published")
        )
        ticks = _hidden_ticks(base, "vertical", y=y, x=alt.datum(0), tooltip=tip)
        text = (
            base.mark_text(align="left", dx=4, fontSize=11)
            .encode(y=y, x=x, text="label:N")
            .properties(name="value_label")
        )
        spec = finish(alt.layer(bars, ticks, text).properties(width=WIDTH - 160, height=alt.Step(28)))
    return Chart(
        name="care_gaps",
        title="Open care gaps",
        subtitle="A test the cramp history calls for that was never done",
        spec=spec,
        table_header=["Care gap", "Open when", "Patients"],
        table_rows=[[v["gap"], v["why"], v["label"]] for v in values],
        csv_name="care_gap_totals.csv",
        csv_header=["gap", "patients", "patients_suppressed"],
        csv_rows=[[r["gap"], r["patients"], r["patients_suppressed"]] for r in data["care_gaps"]],
        **cell_counts(hidden, len(values), "care gaps"),
    )


def dashboard_charts(data: dict) -> list[Chart]:
    """Every chart of the dashboard, in page order."""
    return [
        new_patients(data),
        cohort_size(data),
        attrition(data),
        primary_flags(data),
        overlap(data),
        care_gaps(data),
        prevalence(data),
        breakdown(data, "age_band"),
        breakdown(data, "sex"),
    ]
