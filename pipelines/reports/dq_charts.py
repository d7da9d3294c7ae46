"""The data-quality report's trend chart: each check that failed in any run, its failing share run by run.

Small multiples (one panel per check, its threshold as a dashed line), rendered like the dashboard's charts
(`charts.py`): static SVG, a data table and a CSV download of the `dq.check_results` rows behind it.
"""

from __future__ import annotations

import altair as alt

from pipelines.reports.charts import BLUE, GREY, Chart, finish


def check_trend(rows: list[dict]) -> Chart:
    """`rows`: one per check and run (`data_quality_data._check_trend`)."""
    values = [
        {
            "check": f"{r['table_name']}: {r['check_name']}",
            "run": _run_label(r),
            "share": (r["failing_pct"] or 0) / 100,
            "threshold": r["threshold"] / 100,
            "status": r["status"],
            "hidden": r["failing_pct"] is None,
            "description": f"{r['check_name']}, batch {r['batch_id']}: "
            + (
                "could not count"
                if r["failing_pct"] is None
                else f"{r['failing_rows']:,} of {r['total_rows']:,} rows failing "
                f"({r['failing_pct']:.2f}%), {r['status']}"
            ),
        }
        for r in rows
    ]
    spec = None
    if values:
        runs = list(dict.fromkeys(v["run"] for v in values))
        x = alt.X("run:O", sort=runs, title=None, axis=alt.Axis(labelAngle=-30, labelLimit=160))
        base = alt.Chart()
        line = base.transform_filter("!datum.hidden").mark_line(color=BLUE).encode(x=x, y="share:Q")
        points = (
            base.transform_filter("!datum.hidden")
            .mark_point(filled=True, size=40)
            .encode(
                x=x,
                y=alt.Y("share:Q", title="Failing rows", axis=alt.Axis(format="%")),
                color=alt.Color(
                    "status:N",
                    scale=alt.Scale(domain=["pass", "fail", "not_applicable"], range=[BLUE, "#a40000", GREY]),
                    legend=None,
                ),
                description="description:N",
                tooltip=[alt.Tooltip("run:N", title="Batch (run)"), alt.Tooltip("description:N", title="Result")],
            )
            .properties(name="published")
        )
        limit = base.mark_rule(color="#a40000", strokeDash=[4, 3]).encode(x=x, y="threshold:Q")
        panel = alt.layer(line, points, limit, data=alt.Data(values=values)).properties(width=220, height=110)
        spec = finish(
            panel.facet(
                facet=alt.Facet("check:N", title=None, header=alt.Header(labelLimit=260)), columns=3
            ).resolve_scale(y="independent")
        )
    return Chart(
        name="check_trend",
        title="Trend of the checks that failed in any run",
        subtitle="Failing rows as a share of the table, batch by batch; dashed: the check's threshold",
        spec=spec,
        table_header=["Check", "Batch (run)", "Status", "Failing rows", "Total rows", "Failing %", "Threshold %"],
        table_rows=[
            [
                f"{r['table_name']}: {r['check_name']}",
                _run_label(r),
                r["status"],
                "–" if r["failing_rows"] is None else f"{r['failing_rows']:,}",
                f"{r['total_rows']:,}",
                "–" if r["failing_pct"] is None else f"{r['failing_pct']:.2f}",
                f"{r['threshold']:g}",
            ]
            for r in rows
        ],
        csv_name="check_trend.csv",
        csv_header=[
            "table_name",
            "check_name",
            "run_id",
            "batch_id",
            "checked_at",
            "status",
            "failing_rows",
            "total_rows",
            "failing_pct",
            "threshold",
        ],
        csv_rows=[
            [
                r["table_name"],
                r["check_name"],
                r["run_id"],
                r["batch_id"],
                r["checked_at"],
                r["status"],
                r["failing_rows"],
                r["total_rows"],
                r["failing_pct"],
                r["threshold"],
            ]
            for r in rows
        ],
        shown=sum(not v["hidden"] for v in values),
        hidden=0,
    )


def _run_label(row: dict) -> str:
    """The batch, and the run (a batch can be validated again): the same for every check of one run."""
    return f"{row['batch_id'] or '–'} · run {str(row['run_id'])[:8]}"
