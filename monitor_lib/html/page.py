"""The HTML page around the charts: one inline stylesheet, no script, nothing loaded from anywhere."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

from monitor_lib import __version__

STYLE = """
:root { --ink:#1f2933; --muted:#616e7c; --line:#d9dee4; --bad:#d6336c; --ok:#2b8a3e; --warn:#e8590c;
        --base:#9aa5b1; --cur:#2f6fdf; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--ink);
       margin: 0; background: #f5f7fa; }
header { background: #1f2933; color: #fff; padding: 18px 28px; }
header h1 { margin: 0 0 4px; font-size: 20px; font-weight: 600; }
header .sub { color: #cbd2d9; font-size: 13px; }
main { padding: 18px 28px 40px; max-width: 1180px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 14px 18px; margin: 0 0 16px; }
h2 { font-size: 16px; margin: 0 0 10px; }
h3 { font-size: 15px; margin: 0; display: inline; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 10px 4px 0; text-align: left; vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.status { display: inline-block; padding: 2px 10px; border-radius: 12px; font-weight: 600; font-size: 13px; }
.status.Completed { background: #d3f9d8; color: var(--ok); }
.status.CompletedWithViolations { background: #ffe3ec; color: var(--bad); }
.status.NoData { background: #fff3bf; color: #946200; }
.status.Failed { background: #ffe3ec; color: var(--bad); }
.bad { color: var(--bad); font-weight: 600; }
.ok { color: var(--ok); }
.muted { color: var(--muted); }
.tag { display: inline-block; border: 1px solid var(--bad); color: var(--bad); border-radius: 10px; padding: 0 7px;
       font-size: 12px; margin-left: 6px; }
.feature { border-left: 4px solid var(--line); }
.feature.violated { border-left-color: var(--bad); }
.feature .facts { margin: 6px 0 8px; color: var(--muted); font-size: 13px; }
.feature .facts b { color: var(--ink); font-weight: 600; }
.grid { display: flex; flex-wrap: wrap; gap: 18px; align-items: flex-start; }
.legend span { display: inline-block; width: 10px; height: 10px; margin: 0 4px 0 12px; vertical-align: -1px; }
ul.viol { margin: 6px 0 0; padding-left: 18px; }
ul.viol li { color: var(--bad); }
ul.viol code { color: var(--ink); }
svg.chart { max-width: 100%; height: auto; overflow: visible; }
svg .ax { font-size: 10px; fill: #4a5562; }
pre { background: #f5f7fa; padding: 6px 8px; white-space: pre-wrap; word-break: break-all; \
font-size: 12px; margin: 2px 0; }
.cm td { text-align: right; min-width: 56px; }
.strip a { display: inline-block; width: 14px; height: 14px; margin: 1px; border-radius: 2px; }
.strip .Completed { background: #8ce99a; } .strip .CompletedWithViolations { background: var(--bad); }
.strip .NoData { background: #ffe066; } .strip .Failed { background: #343a40; }
a { color: var(--cur); }
nav a { margin-right: 10px; }
footer { color: var(--muted); font-size: 12px; padding: 0 28px 24px; }
"""


def esc(value: object) -> str:
    return escape(str(value), quote=True)


def page(title: str, subtitle: str, sections: Iterable[str]) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>"
            f"<header><h1>{esc(title)}</h1><div class=\"sub\">{subtitle}</div></header><main>"
            + "".join(sections)
            + f"</main><footer>spark-model-monitor {esc(__version__)} — a self-contained page: it loads nothing "
              "from the network.</footer></body></html>\n")


def section(title: str, *parts: str, cls: str = "", anchor: str = "") -> str:
    ident = f' id="{esc(anchor)}"' if anchor else ""
    klass = f' class="{cls}"' if cls else ""
    head = f"<h2>{title}</h2>" if title else ""
    return f"<section{ident}{klass}>{head}{''.join(parts)}</section>"


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: Sequence[int] = (), cls: str = "") -> str:
    """Cells are markup (escape text before passing it); ``numeric`` columns are right-aligned."""
    def cell(tag: str, i: int, text: str) -> str:
        return f'<{tag} class="n">{text}</{tag}>' if i in numeric else f"<{tag}>{text}</{tag}>"
    head = "".join(cell("th", i, h) for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(cell("td", i, c) for i, c in enumerate(r)) + "</tr>" for r in rows)
    klass = f' class="{cls}"' if cls else ""
    return f"<table{klass}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def status_badge(status: str) -> str:
    return f'<span class="status {esc(status)}">{esc(status)}</span>'


def legend(*items: tuple[str, str]) -> str:
    return '<div class="legend muted">' + "".join(f'<span style="background:{c}"></span>{esc(t)}'
                                                  for c, t in items) + "</div>"


def violations_list(items) -> str:
    """The violations' check types and descriptions as a list."""
    if not items:
        return ""
    return "<ul class='viol'>" + "".join(f"<li><code>{esc(v.constraint_check_type)}</code> {esc(v.description)}</li>"
                                         for v in items) + "</ul>"


def against(value: float | None, threshold: float | None, higher_is_bad: bool, fmt=None) -> str:
    """A measured value, red when on the wrong side of its threshold, with the threshold."""
    from monitor_lib.html import svg

    fmt = fmt or svg.pct
    if value is None:
        return "<span class='muted'>not measured</span>"
    bad = threshold is not None and (value > threshold if higher_is_bad else value < threshold)
    limit = "" if threshold is None else (f" <span class='muted'>({'max' if higher_is_bad else 'min'} "
                                          f"{fmt(threshold)})</span>")
    return f"<b class='{'bad' if bad else ''}'>{fmt(value)}</b>{limit}"
