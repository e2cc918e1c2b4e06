"""tools/catalogues.py for the tests (tools/ is not a package the tests can import from)."""
import importlib.util
import os

_path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'tools', 'catalogues.py')
_spec = importlib.util.spec_from_file_location('catalogues', _path)
catalogues = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(catalogues)
