"""The HTML pages vidgen writes (`report.html`, `variants.html`), rendered from the Jinja2 templates in
`vidgen_assets/templates/` (shipped as package data).

Autoescaped, so every value a page shows (a prompt, a beat's name, a check's detail) is plain text and
cannot add markup; strict, so a value the template names and the caller forgot fails the page instead of
rendering as nothing.
"""

from __future__ import annotations

from functools import cache

import jinja2


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("vidgen_assets", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_page(template: str, **context: object) -> str:
    """The page `template` (a file in `vidgen_assets/templates/`) filled with `context`."""
    return _environment().get_template(template).render(**context)
