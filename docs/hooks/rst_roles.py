"""MkDocs hook: the docstrings' Sphinx roles (``:func:`fit```) shown as the code they name.

annrl's docstrings are numpydoc, read by people in an editor and by mkdocstrings here; mkdocstrings
renders ``:func:`fit``` as the text ``:func:`` followed by ``fit`` in code, so the role is dropped.
"""

import re

ROLE = re.compile(r":(?:class|func|meth|mod|data|attr|exc|obj):(?=<code>)")


def on_page_content(html, **kwargs):
    return ROLE.sub("", html)
