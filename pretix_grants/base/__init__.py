"""
What several features share, below all of them: the control pages' permission mixin (``pages``) and what the REST
resources share (``api``). May import only the core's lowest floors (models, defaults, permissions); imports no
feature package.
"""
