"""The leaderboard: validated result files aggregated with pandas into a static site.

`collect` reads and validates the result files, `plots` draws the SVG figures, `pages` turns
names from untrusted files into safe page paths and links, and `site` renders the jinja2
templates.  The site is rebuilt by `snnbench leaderboard build`, never edited by hand.
"""

from snnbench.leaderboard.site import build_site

__all__ = ["build_site"]
