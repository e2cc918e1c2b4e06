"""
Insights: the programme's statistics in the control panel (Grants → Statistics) and the one-click post-event report
(PDF and CSV) for funders, with small numbers suppressed so that no one in a small group is exposed.

``rules`` computes the figures in a fixed number of aggregate queries and applies the suppression rule (see
doc/insights.md); ``report`` draws the PDF and writes the CSV; ``control`` holds the organizer's pages. The package
imports the core (models, permissions, control.pages) only: no other feature package.
"""
