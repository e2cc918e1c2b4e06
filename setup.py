import os
from distutils.command.build import build  # noqa

from setuptools import find_packages, setup

from pretix_grants import __version__

try:
    with open(os.path.join(os.path.dirname(__file__), 'README.md'), encoding='utf-8') as f:
        long_description = f.read()
except Exception:
    long_description = ''

try:
    from pretix_plugin_build.build import CustomBuild
    cmdclass = {'build': CustomBuild}
except ImportError:
    cmdclass = {}

setup(
    name='pretix-grants',
    version=__version__,
    description='Run a conference grant (financial aid) programme inside pretix',
    long_description=long_description,
    long_description_content_type='text/markdown',
    license='Apache',
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
            'psycopg2-binary>=2.9',
            'aiosmtpd>=1.4',
            'responses>=0.23',
            'playwright>=1.40',
            'hypothesis>=6.100',
            'gunicorn>=22',  # make bench serves pretix with it for the per-grant REST API scenario
        ],
        'bench': [
            'locust>=2.30,<3',  # make bench-burst: the simulated grantees and applicants
        ],
    },
    packages=find_packages(exclude=['tests', 'tests.*']),
    include_package_data=True,
    cmdclass=cmdclass,
    entry_points="""
[pretix.plugin]
pretix_grants=pretix_grants:PretixPluginMeta
""",
)
