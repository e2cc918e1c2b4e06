"""
Who acts: the actors' names the state machines of grants, claims and letters judge by (one home for them), and, as a
task argument, the API token or OAuth token of a request, so work done later in a worker is logged with the same
actor as the request that asked for it.
"""
from pretix.api.models import OAuthAccessToken
from pretix.base.models import TeamAPIToken

ORGANIZER = 'organizer'
GRANTEE = 'grantee'
SYSTEM = 'system'
# who asked for an invitation letter: a grantee or a ticket holder
REQUESTER = 'requester'


def auth_key(auth):
    """An API token or OAuth token as (kind, pk)."""
    if isinstance(auth, TeamAPIToken):
        return ['token', auth.pk]
    if isinstance(auth, OAuthAccessToken):
        return ['oauth', auth.pk]
    return None


def auth_from_key(key):
    if not key:
        return None
    model = {'token': TeamAPIToken, 'oauth': OAuthAccessToken}[key[0]]
    return model.objects.filter(pk=key[1]).first()
