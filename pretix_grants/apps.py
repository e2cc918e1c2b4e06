from django.utils.translation import gettext_lazy

from . import __version__

try:
    from pretix.base.plugins import PluginConfig
except ImportError:
    raise RuntimeError("Please use pretix 2026.8 or above to run this plugin!")


class PluginApp(PluginConfig):
    default = True
    name = 'pretix_grants'
    verbose_name = gettext_lazy('Grants')

    class PretixPluginMeta:
        name = gettext_lazy('Grants')
        author = 'pretix-grants'
        description = gettext_lazy(
            'Run a grant (financial aid) programme: decisions, replies, free-ticket vouchers and mails.'
        )
        visible = True
        version = __version__
        category = 'FEATURE'
        compatibility = 'pretix>=2026.8.0'

    def ready(self):
        # the order of these imports is the receivers' order
        # isort: off
        from . import signals  # NOQA: wires the receivers
        from .letters import signals as letter_signals  # NOQA: the letters' receivers, after the grant's
        from .claims import signals as claim_signals  # NOQA: the claims' receivers, after the letters'
        from . import tasks  # NOQA: registers the Celery tasks
        # isort: on
