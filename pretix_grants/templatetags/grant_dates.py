"""
``{{ moment|grant_moment:event }}``: a date and time on the grantee's pages as in the plugin's mails (one helper,
``mails.format_moment``: pretix's format for the active language, in the event's time zone, with its name).
"""
from django import template

from .. import mails

register = template.Library()


@register.filter
def grant_moment(moment, event):
    return mails.format_moment(event, moment) if moment else ''
