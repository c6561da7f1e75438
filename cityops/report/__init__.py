"""The monthly operations report (`cityops report`, DESIGN.md "The monthly operations report").

Layout, one job per module: `model` (the month's figures, pure), `fmt` and `text`
(numbers and sentences in both languages, pure), `charts` (inline SVG, pure),
`render` (the self-contained HTML, pure), `queries` (reads the KPI views as the
read-only role), `pdf` (headless Chromium), `cli` (the sub-command).
"""
