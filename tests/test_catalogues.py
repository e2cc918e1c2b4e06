"""
The translation catalogues are complete: every message of the code is in each of them, translated, not fuzzy, with
the same placeholders; and the package built from the tree carries them compiled.

`make catalogues` (tools/catalogues.py check) lists exactly what is missing where.
"""
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from io import BytesIO

import pytest
from babel.messages.mofile import read_mo

from .catalogues import catalogues

LANGUAGES = catalogues.LANGUAGES
MO = 'pretix_grants/locale/{}/LC_MESSAGES/django.mo'


def test_the_four_languages_have_a_catalogue():
    assert LANGUAGES == ('de', 'it', 'fr', 'es')
    for lang in LANGUAGES:
        assert os.path.exists(catalogues.po_path(lang))


@pytest.mark.skipif(not catalogues.gettext_available(), reason='GNU gettext (xgettext) is not installed')
def test_every_message_of_the_code_is_in_each_catalogue():
    expected = catalogues.code_messages()
    assert len(expected) > 400
    for lang in LANGUAGES:
        found = catalogues.problems(lang, expected)
        assert (lang, found['missing']) == (lang, []), 'run `make messages` and translate'
        assert (lang, found['obsolete']) == (lang, []), 'run `make messages`'


@pytest.mark.parametrize('lang', LANGUAGES)
def test_every_message_is_translated_and_none_is_fuzzy(lang):
    found = catalogues.problems(lang)
    assert found['untranslated'] == []
    assert found['fuzzy'] == []


@pytest.mark.parametrize('lang', LANGUAGES)
def test_placeholders_are_the_same_in_every_translation(lang):
    assert catalogues.problems(lang)['placeholders'] == []


def test_the_placeholder_check_sees_a_changed_placeholder(tmp_path):
    assert catalogues.placeholders('Hallo {name}, %(count)s Stück, %s') == ['%(count)s', '%s', '{name}']
    assert catalogues.placeholders('{{ not one }} 100%') == []


@pytest.mark.skipif(not shutil.which('msgfmt'), reason='GNU msgfmt is not installed')
@pytest.mark.parametrize('lang', LANGUAGES)
def test_msgfmt_check_reports_only_translated_messages(lang):
    r = subprocess.run(['msgfmt', '--check', '--statistics', '-o', os.devnull, catalogues.po_path(lang)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(r'\d+ translated messages\.', r.stderr.strip().splitlines()[-1]), r.stderr


def _translations(mo_bytes):
    return {m.id: m.string for m in read_mo(BytesIO(mo_bytes)) if m.id and isinstance(m.id, str)}


def test_wheel_and_sdist_carry_the_compiled_catalogues(tmp_path):
    """The package build compiles the .po files (they are the only ones in git) into .mo files it ships."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    src = tmp_path / 'src'
    shutil.copytree(root, src, ignore=shutil.ignore_patterns(
        '.git', '.venv', '.pretalx-venv', 'data', 'build', 'dist', '*.egg-info', '__pycache__', '*.mo', 'tests', 'bench', 'artifacts'))
    env = dict(os.environ, PYTHONPATH='')
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-q',
                    '-w', str(tmp_path / 'wheel'), str(src)], check=True, env=env, timeout=120)
    [wheel] = (tmp_path / 'wheel').glob('pretix_grants-*.whl')
    with zipfile.ZipFile(wheel) as z:
        for lang in LANGUAGES:
            translated = _translations(z.read(MO.format(lang)))
            assert len(translated) > 400
        assert _translations(z.read(MO.format('de')))['Get your ticket'] == 'Ticket holen'

    subprocess.run([sys.executable, 'setup.py', '-q', 'sdist', '-d', str(tmp_path / 'sdist')],
                   cwd=src, check=True, env=env, timeout=120, capture_output=True)
    [sdist] = (tmp_path / 'sdist').glob('pretix_grants-*.tar.gz')
    with tarfile.open(sdist) as t:
        names = t.getnames()
    for lang in LANGUAGES:
        assert any(n.endswith(MO.format(lang)) for n in names)
        assert any(n.endswith(MO.format(lang)[:-3] + '.po') for n in names)
