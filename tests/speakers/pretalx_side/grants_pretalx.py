"""
Run by pretalx's own Python (its virtualenv, its settings): creates and changes the test data of the speaker sync
through pretalx's code. Each call prints one JSON line.

    python grants_pretalx.py setup [--speakers N]   organiser, event, team, user, API tokens, speakers and talks
    python grants_pretalx.py state CODE STATE       a talk's state (accepted, confirmed, withdrawn, rejected, ...)
    python grants_pretalx.py remove CODE SPEAKER    a speaker taken off a talk (the next one becomes its first)
    python grants_pretalx.py add CODE SPEAKER       a speaker added to a talk (at the end)
"""
import datetime as dt
import json
import os
import sys

os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'grants_pretalx_settings')
import django  # NOQA: E402

django.setup()

from django.db import transaction  # NOQA: E402
from django_scopes import scopes_disabled  # NOQA: E402
from pretalx.event.domain.event import create_event  # NOQA: E402
from pretalx.event.models import Organiser, Team  # NOQA: E402
from pretalx.person.models import SpeakerProfile, User  # NOQA: E402
from pretalx.person.models.auth_token import (  # NOQA: E402
    ENDPOINTS, READ_PERMISSIONS, UserApiToken,
)
from pretalx.submission.domain.submission import (  # NOQA: E402
    add_speaker, remove_speaker,
)
from pretalx.submission.models import (  # NOQA: E402
    Answer, Question, Submission,
)

EVENT = 'pyconf27'
# the talks of the small data set: code-free description (title, state, speakers by number)
TALKS = [
    ('Accepted solo', 'accepted', [1]),
    ('Confirmed pair', 'confirmed', [2, 3]),
    ('Second talk of the main speaker', 'confirmed', [1, 4]),
    ('Submitted, not decided', 'submitted', [5]),
    ('Rejected talk', 'rejected', [6]),
    ('Accepted trio', 'accepted', [7, 8, 9]),
]


def _token(user, name, endpoints):
    token = UserApiToken.objects.create(user=user, name=name, all_events=True, endpoints=endpoints)
    return token.token


def setup(speakers=None):
    today = dt.date.today()
    orga = Organiser.objects.create(name='PyConf e.V.', slug='pyconf')
    event = create_event(
        organiser=orga, locales=['en', 'de'], name='PyConf 2027', slug=EVENT, email='orga@example.org',
        date_from=today + dt.timedelta(days=60), date_to=today + dt.timedelta(days=62),
        timezone='Europe/Berlin', locale='en',
    )
    stype = event.cfp.default_type
    orga_user = User.objects.create_user(email='orga@example.org', password='orga-password-27', name='Orga')
    team = Team.objects.create(organiser=orga, name='Organisers', all_events=True, can_change_submissions=True,
                               can_change_event_settings=True, can_change_organiser_settings=True)
    team.members.add(orga_user)
    review_user = User.objects.create_user(email='reviewer@example.org', password='review-password-27', name='Rev')
    reviewers = Team.objects.create(organiser=orga, name='Reviewers', all_events=True, is_reviewer=True)
    reviewers.members.add(review_user)
    read = {e: list(READ_PERMISSIONS) for e in ENDPOINTS}
    tokens = {
        'orga': _token(orga_user, 'pretix grants', read),
        'reviewer': _token(review_user, 'reviewer', read),
    }
    talks = TALKS if speakers is None else [
        (f'Talk {n}', 'confirmed' if n % 2 else 'accepted', [n]) for n in range(1, speakers + 1)]
    profiles = {}

    def speaker(n):
        if n not in profiles:
            user = User.objects.create_user(email=f'speaker{n}@example.org', password=None, name=f'Speaker {n}',
                                            locale='de' if n == 2 else 'en')
            profiles[n] = SpeakerProfile.objects.create(user=user, event=event, name=f'Speaker {n}')
        return profiles[n]

    codes = []
    for title, state, numbers in talks:
        sub = Submission.objects.create(event=event, title=title, submission_type=stype, state=state,
                                        content_locale='en')
        for n in numbers:
            add_speaker(sub, speaker=speaker(n))
        codes.append(sub.code)
    # a yes/no speaker question "do you need travel support?", answered yes by speakers 2 and 7, no by 3
    question = Question.objects.create(event=event, question='Do you need travel support?', variant='boolean',
                                       target='speaker')
    for n, answer in ((2, 'True'), (7, 'True'), (3, 'False')):
        if n in profiles:
            Answer.objects.create(question=question, speaker=profiles[n], answer=answer)
    return {'event': EVENT, 'tokens': tokens, 'talks': codes, 'support_question': question.pk,
            'speakers': {n: p.code for n, p in profiles.items()}}


def state(code, new_state):
    sub = Submission.all_objects.get(code=code)
    {'accepted': sub.accept, 'confirmed': sub.confirm, 'rejected': sub.reject, 'withdrawn': sub.withdraw,
     'canceled': sub.cancel}[new_state](orga=True) if new_state != 'withdrawn' else sub.withdraw()
    return {'talk': code, 'state': Submission.all_objects.get(code=code).state}


def remove(code, speaker_code):
    sub = Submission.all_objects.get(code=code)
    remove_speaker(sub, SpeakerProfile.objects.get(code=speaker_code, event=sub.event))
    return {'talk': code, 'speakers': [s.code for s in sub.sorted_speakers]}


def add(code, speaker_code):
    sub = Submission.all_objects.get(code=code)
    add_speaker(sub, speaker=SpeakerProfile.objects.get(code=speaker_code, event=sub.event))
    return {'talk': code, 'speakers': [s.code for s in Submission.all_objects.get(code=code).sorted_speakers]}


def main(argv):
    command, args = argv[0], argv[1:]
    with scopes_disabled(), transaction.atomic():
        if command == 'setup':
            result = setup(int(args[1]) if args[:1] == ['--speakers'] else None)
        else:
            result = {'state': state, 'remove': remove, 'add': add}[command](*args)
    print(json.dumps(result))


if __name__ == '__main__':
    main(sys.argv[1:])
