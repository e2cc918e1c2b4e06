"""
axe-core (the copy axe-playwright-python ships) run on a page, and what it finds in the plugin's own forms: the
violations and the items it could not decide ("needs review", axe's ``incomplete``), both counted as failures.
"""
from pathlib import Path

import axe_playwright_python

AXE = (Path(axe_playwright_python.__file__).parent / 'axe.min.js').read_text()


def axe_findings(page, within):
    """
    axe's violations inside ``within`` (a CSS selector), and its needs-review items on the fields there (inside a
    ``.form-group``: a field, its label, help and errors). pretix's own error summary above a form (an alert with an
    icon drawn by a pseudo element, whose contrast axe cannot judge) is pretix's, not the plugin's.
    """
    # evaluated through the browser's debugging protocol: pretix's Content-Security-Policy does not apply to it
    page.evaluate(AXE + '\n;0')
    result = page.evaluate('() => axe.run(document, {resultTypes: ["violations", "incomplete"]})')
    found = []
    for kind in ('violations', 'incomplete'):
        for rule in result[kind]:
            for node in rule['nodes']:
                scope = within if kind == 'violations' else within + ' .form-group'
                inside = page.evaluate('([sel, within]) => !!document.querySelector(sel)?.closest(within)',
                                       [node['target'][0], scope])
                if inside:
                    found.append(f"{kind}: {rule['id']} on {node['target'][0]}: {node.get('failureSummary') or rule['help']}")
    return found


def unlinked_descriptions(page, within):
    """Inputs inside ``within`` whose ``aria-describedby`` names an element that is not on the page."""
    return page.evaluate('''(within) => {
        const missing = [];
        document.querySelectorAll(within + ' [aria-describedby]').forEach(el => {
            el.getAttribute('aria-describedby').split(/\\s+/).filter(Boolean).forEach(id => {
                if (!document.getElementById(id)) missing.push((el.name || el.id) + ' -> ' + id);
            });
        });
        return missing;
    }''', within)


def description_of(page, selector):
    """The text a screen reader reads as the field's description (its aria-describedby elements)."""
    return page.evaluate('''(sel) => {
        const el = document.querySelector(sel);
        return (el.getAttribute('aria-describedby') || '').split(/\\s+/).filter(Boolean)
            .map(id => document.getElementById(id)?.textContent.trim() || '').join(' | ');
    }''', selector)
