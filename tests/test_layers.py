"""
The package's shape: imports point down one way, nothing imports inside a function (except ``apps.ready``), and one
feature package never imports another.

Floors, bottom to top. A module may import modules of lower floors only.

0  models, defaults, logentries, permissions, hooks (the plugin's own signals), actors (who acts),
   spreadsheets (safe xlsx and CSV files)
1  mails, retention (how long sensitive data is kept), reviews (blind review figures), webhooks (payloads), base (what features share: the grant page, the
   control pages' and the REST resources' mixins), letters.pdf, letters.forms, letters.webhooks, files (files that
   go with their rows)
2  issuance, claims.rules, letters.rules, claims.webhooks (on webhooks' event class)
3  workflow, claims.payouts (payout batches, on claims.rules)
4  lifecycle, applications (the shop's application form: creates grants through workflow), shredder, the features'
   shredders
5  tasks (the plugin's tasks and the helpers that queue them)
6  the pages and resources: api, views, claims.api, claims.views, letters.api, letters.views, control.actions
7  control's parts: forms, importer, nav, eventcopy, dashboard, exporters; templatetags
8  control.listing (the grant list's query and the control pages' links)
9  control pages: control.views, claims.control, letters.control
10 control.bulk, control.import_views (they use the list's query and the forms)
11 control.urls; claims.signals, letters.signals (a feature's receivers and log texts)
12 signals, urls, management commands (wiring only)
13 apps (its ready() imports signals and tasks)

Feature packages (``FEATURES``) hold a whole feature each; they may import the core and ``base``, never each other,
and ``base`` imports no feature.
"""
import ast
from pathlib import Path

import pretix_grants

PACKAGE = Path(pretix_grants.__file__).parent
FLOORS = {
    'models': 0, 'defaults': 0, 'logentries': 0, 'permissions': 0, 'hooks': 0, 'actors': 0, '__init__': 0,
    'spreadsheets': 0, 'files': 1, 'retention': 1,
    'mails': 1, 'reviews': 1, 'webhooks': 1, 'letters.webhooks': 1, 'base.pages': 1, 'base.grantpage': 1, 'base.api': 1, 'base.guard': 1,
    'letters.pdf': 1, 'letters.forms': 1,
    'issuance': 2, 'claims.rules': 2, 'letters.rules': 2, 'claims.webhooks': 2,
    'workflow': 3, 'claims.payouts': 3,
    'lifecycle': 4, 'applications': 4, 'shredder': 4, 'claims.shredder': 4, 'letters.shredder': 4,
    'tasks': 5,
    'api': 6, 'views': 6, 'claims.api': 6, 'claims.views': 6, 'letters.api': 6, 'letters.views': 6,
    'control.actions': 6,
    'control.forms': 7, 'control.importer': 7, 'control.nav': 7, 'control.eventcopy': 7, 'control.dashboard': 7,
    'control.exporters': 7, 'templatetags.grant_claims': 7, 'templatetags.grant_dates': 7,
    'templatetags.grant_forms': 7,
    'control.listing': 8,
    'control.views': 9, 'claims.control': 9, 'letters.control': 9,
    'control.bulk': 10, 'control.import_views': 10,
    'control.urls': 11, 'claims.signals': 11, 'letters.signals': 11,
    'management.commands.grants_demo': 12, 'signals': 12, 'urls': 12,
    'apps': 13,
    # tickets/: the person's own ticket and held places
    'tickets.rules': 4, 'tickets.api': 6, 'tickets.views': 7, 'tickets.control': 9, 'tickets.signals': 10,
    # decisions/: its rules are pure; its pages, API and receivers sit with the other features'
    'decisions.rules': 1, 'decisions.programme': 5, 'decisions.forms': 6, 'decisions.tasks': 6, 'decisions.views': 6,
    'decisions.api': 7, 'decisions.control': 9, 'decisions.signals': 11,
    # speakers from pretalx (speakers/)
    'speakers.rules': 4, 'speakers.shredder': 4, 'speakers.control': 9, 'speakers.signals': 11,
    # insights/: the statistics page and the post-event report
    'insights.suppression': 0, 'insights.rules': 1, 'insights.report': 2, 'insights.control': 9,
}
# the feature packages; ``base`` is what they share, below them
FEATURES = ('claims', 'letters', 'decisions', 'insights', 'speakers', 'tickets')


def modules():
    for path in sorted(PACKAGE.rglob('*.py')):
        rel = path.relative_to(PACKAGE).with_suffix('')
        if rel.parts[0] == 'migrations':
            continue
        name = '.'.join(rel.parts)
        if name.endswith('.__init__'):
            continue
        yield name, path


def resolve(module, node):
    """The package modules an import statement in ``module`` names."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
        return [n.removeprefix('pretix_grants.') for n in names if n.startswith('pretix_grants.')]
    if node.level == 0:
        if not (node.module or '').startswith('pretix_grants'):
            return []
        base = node.module.removeprefix('pretix_grants').lstrip('.')
    else:
        parts = module.split('.')[:-node.level]
        base = '.'.join(parts + ([node.module] if node.module else []))
    found = []
    for alias in node.names:
        candidate = f'{base}.{alias.name}' if base else alias.name
        if candidate in FLOORS:
            found.append(candidate)
        elif base:
            found.append(base)
    return found


def imports():
    """{module: [(imported module, line, inside a function)]}"""
    result = {}
    for name, path in modules():
        tree = ast.parse(path.read_text())
        found = []

        def visit(node, in_function):
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.Import, ast.ImportFrom)):
                    found.extend((m, child.lineno, in_function) for m in resolve(name, child))
                    if in_function:
                        found.append((None, child.lineno, in_function))
                is_function = isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
                # apps.ready() is where Django wants a plugin's wiring imported
                allowed = name == 'apps' and getattr(child, 'name', None) == 'ready'
                visit(child, in_function or (is_function and not allowed))

        visit(tree, False)
        result[name] = found
    return result


def test_every_module_has_a_floor():
    assert sorted(set(name for name, _ in modules()) - set(FLOORS)) == []


def test_no_import_inside_a_function_except_in_apps_ready():
    inside = [(name, line) for name, found in imports().items() for m, line, fn in found if fn and m is None]
    assert inside == []


def test_imports_point_down():
    upward = [
        f'{name}:{line} imports {m}'
        for name, found in imports().items() for m, line, fn in found
        if m is not None and m != name and FLOORS.get(m, 0) >= FLOORS[name]
        and not (name == 'apps' and fn)
    ]
    assert upward == []


def test_no_import_cycle():
    graph = {name: {m for m, line, fn in found if m is not None and m != name} for name, found in imports().items()}
    seen, on_stack, cycles = set(), [], []

    def walk(node):
        if node in on_stack:
            cycles.append(on_stack[on_stack.index(node):] + [node])
            return
        if node in seen:
            return
        seen.add(node)
        on_stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            walk(nxt)
        on_stack.pop()

    for node in sorted(graph):
        walk(node)
    assert cycles == []


def test_the_check_sees_an_upward_import():
    """The checker itself: an import from a lower floor to a higher one is caught."""
    tree = ast.parse('from .tasks import issue_grant_voucher\nfrom . import workflow\n')
    found = [m for node in tree.body for m in resolve('issuance', node)]
    assert found == ['tasks', 'workflow']
    assert all(FLOORS[m] > FLOORS['issuance'] for m in found)


def package_of(module):
    return module.split('.')[0] if '.' in module else None


def feature_imports():
    """Imports of one feature package (or of ``base``) from another feature package."""
    return [
        f'{name}:{line} imports {m}'
        for name, found in imports().items() if package_of(name) in FEATURES + ('base',)
        for m, line, fn in found
        if m is not None and package_of(m) in FEATURES and package_of(m) != package_of(name)
    ]


def test_every_floor_is_whole():
    assert all(isinstance(floor, int) for floor in FLOORS.values())


def test_one_feature_package_never_imports_another():
    assert feature_imports() == []


def test_the_check_sees_a_feature_importing_another():
    """The checker itself: claims importing letters is named."""
    tree = ast.parse('from ..letters import rules\nfrom ..letters.pdf import render\nfrom .. import workflow\n')
    found = [m for node in tree.body for m in resolve('claims.views', node)]
    assert found == ['letters.rules', 'letters.pdf', 'workflow']
    assert [m for m in found if package_of(m) in FEATURES and package_of(m) != 'claims'] == ['letters.rules', 'letters.pdf']
