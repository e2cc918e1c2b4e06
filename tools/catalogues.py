"""The plugin's translation catalogues: extract, compile and check them.

    python tools/catalogues.py messages   update the .po files from the code, keeping existing translations
    python tools/catalogues.py compile [lang ...]  write the .mo files (msgfmt if installed, else Babel: Python alone)
    python tools/catalogues.py check      list per language what is missing, obsolete, untranslated, fuzzy or
                                          has placeholders that differ from the English; exit 1 if anything is

Extraction uses Django's makemessages, which needs GNU gettext (xgettext, msgmerge); compiling and checking
need nothing but Python.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, 'pretix_grants')
LOCALE = os.path.join(PACKAGE, 'locale')
LANGUAGES = ('de', 'it', 'fr', 'es')
DOMAIN = 'django'

# {name}, {0}, %(name)s, %s, %d ... (a literal %% or {{ is not a placeholder)
PLACEHOLDER = re.compile(r'%\([a-zA-Z_0-9]+\)[sdfir]|%[sdfir]|(?<!\{)\{[a-zA-Z_0-9]*\}(?!\})')


def po_path(lang, locale_dir=LOCALE):
    return os.path.join(locale_dir, lang, 'LC_MESSAGES', DOMAIN + '.po')


def gettext_available():
    return bool(shutil.which('xgettext') and shutil.which('msgmerge'))


def makemessages(package_dir=PACKAGE, languages=LANGUAGES):
    """Django's makemessages in ``package_dir``, as pretix's plugins do: file locations only, no obsolete entries."""
    args = [sys.executable, '-m', 'django', 'makemessages', '--no-obsolete', '--add-location=file', '--no-wrap']
    for lang in languages:
        args += ['-l', lang]
    env = {k: v for k, v in os.environ.items() if k != 'DJANGO_SETTINGS_MODULE'}
    subprocess.run(args, cwd=package_dir, env=env, check=True, stdout=subprocess.DEVNULL)


def load(path):
    with open(path, 'rb') as f:
        return read_po(f)


def key(message):
    return (message.context or '', message.id if isinstance(message.id, str) else tuple(message.id))


def messages(catalog):
    return {key(m): m for m in catalog if m.id}


def code_messages():
    """The messages the code holds now: makemessages run on a copy of the package into an empty locale folder."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, 'pretix_grants')
        shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns('locale', '__pycache__', '*.pyc'))
        os.makedirs(os.path.join(copy, 'locale', LANGUAGES[0], 'LC_MESSAGES'))
        makemessages(copy, LANGUAGES[:1])
        return messages(load(po_path(LANGUAGES[0], os.path.join(copy, 'locale'))))


def placeholders(text):
    return sorted(PLACEHOLDER.findall(text))


def problems(lang, expected=None):
    """What is wrong with ``lang``'s catalogue, as {kind: [message descriptions]}; ``expected``: code_messages()."""
    found = messages(load(po_path(lang)))
    out = {'missing': [], 'obsolete': [], 'untranslated': [], 'fuzzy': [], 'placeholders': []}
    if expected is not None:
        out['missing'] = [describe(k) for k in expected if k not in found]
        out['obsolete'] = [describe(k) for k in found if k not in expected]
    for k, m in found.items():
        strings = [m.string] if isinstance(m.string, str) else list(m.string)
        ids = [m.id] if isinstance(m.id, str) else list(m.id)
        if not all(strings):
            out['untranslated'].append(describe(k))
        if m.fuzzy:
            out['fuzzy'].append(describe(k))
        for s in strings:
            # a plural's forms may differ in %(count)s/{count}; each form must use the singular's or plural's set
            if s and all(placeholders(s) != placeholders(i) for i in ids):
                out['placeholders'].append(f'{describe(k)}: {placeholders(ids[-1])} != {placeholders(s)}')
    return out


def describe(k):
    context, msgid = k
    text = msgid if isinstance(msgid, str) else msgid[0]
    return (f'[{context}] ' if context else '') + repr(text)


def compile_catalogues(locale_dir=LOCALE, languages=LANGUAGES):
    """Write each language's .mo next to its .po: GNU msgfmt --check when installed, else Babel."""
    msgfmt = shutil.which('msgfmt')
    for lang in languages:
        po = po_path(lang, locale_dir)
        mo = po[:-3] + '.mo'
        if msgfmt:
            subprocess.run([msgfmt, '--check', '-o', mo, po], check=True)
        else:
            catalog = load(po)
            with open(mo, 'wb') as f:
                write_mo(f, catalog)


def compile_outdated(locale_dir=LOCALE, languages=LANGUAGES):
    """Compile the languages whose .mo is missing or older than its .po; returns them."""
    outdated = [lang for lang in languages if not os.path.exists(po_path(lang, locale_dir)[:-3] + '.mo')
                or os.path.getmtime(po_path(lang, locale_dir)[:-3] + '.mo') < os.path.getmtime(po_path(lang, locale_dir))]
    if outdated:
        compile_catalogues(locale_dir, outdated)
    return outdated


def main(argv):
    command = argv[1] if len(argv) > 1 else 'check'
    if command == 'messages':
        makemessages()
    elif command == 'compile':
        compile_catalogues(languages=argv[2:] or LANGUAGES)
    elif command == 'check':
        expected = code_messages() if gettext_available() else None
        if expected is None:
            print('xgettext not found: not comparing the catalogues with the code')
        failed = False
        for lang in LANGUAGES:
            found = problems(lang, expected)
            total = len(messages(load(po_path(lang))))
            print(f'{lang}: {total} messages, ' + ', '.join(f'{len(v)} {k}' for k, v in found.items()))
            for kind, items in found.items():
                for item in items:
                    failed = True
                    print(f'  {kind}: {item}')
        return 1 if failed else 0
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
