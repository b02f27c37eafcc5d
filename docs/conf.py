"""Sphinx configuration for the plmbook site; `docs/build.py` generates the sources and runs Sphinx with it."""
import re, sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # so that myst can import `conf.pandoc_slug` (a function itself cannot be pickled)

project = "plmbook"
author = "plmbook authors"
html_title = "plmbook"
extensions = ["myst_nb", "sphinx-mathjax-offline"]  # the PyPI package's module name has dashes; it serves MathJax 3 from _static/

# The notebooks were executed by docs/build.py (with nbdev's test flags), so Sphinx only renders stored outputs.
nb_execution_mode = "off"
# Widget state needs require.js and the widget manager from a CDN: load nothing, and show widgets' text fallback instead.
nb_ipywidgets_js = {}
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None)]
nb_merge_streams = True

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "attrs_inline", "attrs_block"]
myst_heading_anchors = 4


def pandoc_slug(title: str) -> str:
    "Heading id as Quarto (pandoc) writes it, e.g. `set_seed`, `config.save`: the anchors nbdev's doc links point to."
    return re.sub(r"\s+", "-", re.sub(r"[^\w\s.-]", "", title.strip().lower()))


myst_heading_slug_func = "conf.pandoc_slug"
suppress_warnings = ["myst.header"]  # show_doc headings are always H3, also under a chapter with no H2 above them

html_theme = "sphinx_book_theme"
html_theme_options = {"home_page_in_toc": True, "show_toc_level": 2, "use_download_button": False,
                      "use_fullscreen_button": False}
html_static_path = ["_static"]
html_css_files = ["plmbook.css"]
html_show_sourcelink = False
html_copy_source = False
