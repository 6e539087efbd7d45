"""Self-contained HTML: the page around the charts (inline style, no script) and the SVG charts."""
