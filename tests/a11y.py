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
    icon drawn by a pseudo element, whose contrast axe cannot judge) is pretix's, not the plugin's. Neither can axe
    judge the boxes of a multi-language field, which pretix marks with the language's flag as a background image
    beside the text: their text's contrast with the box's background colour is checked here instead.
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
                if inside and kind == 'incomplete' and rule['id'] == 'color-contrast' and flag_box_contrast(
                        page, node['target'][0]) >= 4.5:
                    continue
                if inside:
                    found.append(f"{kind}: {rule['id']} on {node['target'][0]}: {node.get('failureSummary') or rule['help']}")
    return found


def flag_box_contrast(page, selector):
    """
    The contrast of a multi-language box's text with the colour behind it (0 if it is no such box, or something
    other than one plain colour lies behind it), by WCAG's formula.
    """
    return page.evaluate('''(sel) => {
        const el = document.querySelector(sel);
        if (!el || !el.matches('.i18n-form-group [lang]')) return 0;
        const style = getComputedStyle(el);
        if (!/flags\\//.test(style.backgroundImage)) return 0;
        const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
        const fg = rgb(style.color);
        // pretix's flag rule resets the box's own colour: the text lies on the first opaque colour behind it
        let bg = null;
        for (let e = el; e && !bg; e = e.parentElement) {
            const c = rgb(getComputedStyle(e).backgroundColor);
            if (e !== el && getComputedStyle(e).backgroundImage !== 'none') return 0;
            if (c.length === 3 || (c.length > 3 && c[3] === 1)) bg = c;
            else if (c.length > 3 && c[3] > 0) return 0;
        }
        if (!bg) bg = [255, 255, 255];
        const lum = (c) => {
            const [r, g, b] = c.slice(0, 3).map(v => v / 255).map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
            return 0.2126 * r + 0.7152 * g + 0.0722 * b;
        };
        const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
        return (hi + 0.05) / (lo + 0.05);
    }''', selector)


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
