import os
import re
import shutil
import sys

from setuptools import find_namespace_packages, setup
from setuptools.command.build import build
from setuptools.command.sdist import sdist

HERE = os.path.dirname(os.path.abspath(__file__))

sys.path.insert(0, os.path.join(HERE, 'tools'))
from catalogues import compile_catalogues  # noqa: E402


def read(name):
    with open(os.path.join(HERE, name), encoding='utf-8') as f:
        return f.read()


# One version number: pretix_grants/__init__.py. Read as text, not imported, so that building the package never
# imports the plugin (and with it Django or pretix).
version = re.search(r"^__version__ = '([^']+)'$", read('pretix_grants/__init__.py'), re.M).group(1)

# pretix-plugin-build's build step compiles the translations into .mo files
try:
    from pretix_plugin_build.build import CustomBuild
except ImportError:
    CustomBuild = build


class Build(CustomBuild):
    """pretix's plugin build (compilemessages with GNU msgfmt); without msgfmt, the .mo files are compiled by Babel."""

    def run(self):
        if CustomBuild is not build and shutil.which('msgfmt'):
            CustomBuild.run(self)
        else:
            compile_catalogues()
            build.run(self)


class Sdist(sdist):
    """The sdist carries the compiled .mo files next to the .po files."""

    def run(self):
        compile_catalogues()
        sdist.run(self)


cmdclass = {'build': Build, 'sdist': Sdist}

setup(
    name='pretix-grants',
    version=version,
    description='Run a conference grant (financial aid) programme inside pretix',
    long_description=read('README.md'),
    long_description_content_type='text/markdown',
    author='pretix-grants',
    license='Apache-2.0',
    license_files=['LICENSE'],
    keywords='pretix plugin grants financial-aid conference',
    classifiers=[
        'Development Status :: 4 - Beta',
        'Environment :: Web Environment',
        'Framework :: Django',
        'Framework :: Django :: 5.2',
        'Intended Audience :: Other Audience',
        'Operating System :: OS Independent',
        'Programming Language :: Python :: 3',
        'Programming Language :: Python :: 3 :: Only',
        'Programming Language :: Python :: 3.11',
        'Programming Language :: Python :: 3.12',
        'Programming Language :: Python :: 3.13',
        'Programming Language :: Python :: 3.14',
        'Topic :: Internet :: WWW/HTTP :: Dynamic Content',
    ],
    project_urls={
        'pretix': 'https://pretix.eu',
        'pretix documentation': 'https://docs.pretix.eu',
    },
    python_requires='>=3.11',
    install_requires=[
        'pretix>=2026.8.0,<2027',
    ],
    extras_require={
        'test': [
            'pytest>=8',
            'pytest-django>=4.9',
            'freezegun>=1.5',
            'flake8>=7',
            'isort>=5',
            # the packaging check (.ci/package-check) builds the sdist and wheel and checks their metadata
            'build>=1.2,<2',
            'twine>=6.1,<7',
            'psycopg2-binary>=2.9',
            'aiosmtpd>=1.4',
            'responses>=0.23',
            'playwright>=1.40',
            'hypothesis>=6.100',
            'axe-playwright-python>=0.1.4,<0.2',  # axe-core in the browser tests (insights)
            # the letters' QR code read back from the rendered PDF, as a phone's camera reads the printed page
            'pypdfium2>=4.30,<6',
            'zxing-cpp>=2.2,<4',
            'gunicorn>=22',  # make bench serves pretix with it for the per-grant REST API scenario
        ],
        'bench': [
            'locust>=2.30,<3',  # make bench-burst: the simulated grantees and applicants
        ],
    },
    # The plugin only: bench/, demo/ and tests/ travel in the sdist (MANIFEST.in), never into site-packages. Namespace
    # packages, so that the folders of templates and translations are package data setuptools expects.
    packages=find_namespace_packages(include=['pretix_grants', 'pretix_grants.*'], exclude=['*.__pycache__']),
    include_package_data=True,
    cmdclass=cmdclass,
    entry_points="""
[pretix.plugin]
pretix_grants=pretix_grants:PretixPluginMeta
""",
)
