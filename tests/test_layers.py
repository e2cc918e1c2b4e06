"""
The package's shape: imports point down one way, and nothing imports inside a function (except ``apps.ready``).

Floors, bottom to top. A module may import modules of lower floors only; inside ``control`` the sub-floors order
the panel's own modules.

0  models, defaults, logentries, permissions, hooks (the plugin's own signals), actors (who acted, for tasks),
   spreadsheets (safe xlsx and CSV files)
1  mails, reviews (blind review figures), webhooks (payloads), letter_pdf (the letter's PDF), letter_forms (the
   letter request's fields)
2  issuance, claims (reimbursement claims), letters (visa invitation letters); claim_payouts (payout batches)
3  workflow
4  lifecycle, applications (the shop's application form: creates grants through workflow), shredder (personal
   data, with the letters' files)
5  tasks (the plugin's tasks and the helpers that queue them), api_base (what the REST resources share)
6  api, api_claims, letter_api, views (< claim_views, letter_views < templatetags), control (actions < forms,
   importer, nav, eventcopy, dashboard, exporters, pages < views, claims, letters < bulk, import_views < urls)
7  signals, urls (wiring only)
8  apps (its ready() imports signals and tasks)
"""
import ast
from pathlib import Path

import pretix_grants

PACKAGE = Path(pretix_grants.__file__).parent
FLOORS = {
    'models': 0, 'defaults': 0, 'logentries': 0, 'permissions': 0, 'hooks': 0, 'actors': 0, '__init__': 0,
    'spreadsheets': 0, 'files': 0.5,
    'mails': 1, 'reviews': 1, 'webhooks': 1, 'letter_pdf': 1, 'letter_forms': 1,
    'issuance': 2, 'claims': 2, 'letters': 2,
    'claim_payouts': 2.5,
    'workflow': 3,
    'lifecycle': 4, 'applications': 4, 'shredder': 4,
    'tasks': 5,
    'api_base': 5.5,
    'api': 6, 'api_claims': 6, 'letter_api': 6, 'views': 6,
    'claim_views': 6.1, 'letter_views': 6.1, 'templatetags.grant_claims': 6.2,
    'control.actions': 6.1,
    'control.forms': 6.2, 'control.importer': 6.2, 'control.nav': 6.2, 'control.eventcopy': 6.2,
    'control.dashboard': 6.2, 'control.exporters': 6.2, 'control.pages': 6.2,
    'control.views': 6.3, 'control.claims': 6.3, 'control.letters': 6.3,
    'control.payouts': 6.35,
    'control.bulk': 6.4, 'control.import_views': 6.4,
    'control.urls': 6.5,
    'management.commands.grants_demo': 7,
    'signals': 7, 'urls': 7,
    'apps': 8,
}


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
