"""The one base class for errors that are the user's to fix, not bugs.

The CLI and the web turn a `UserError` into a clear one-line message; anything else is a bug
and is reported as such.
"""


class UserError(Exception):
    """Something the user asked for cannot be done as asked; the message says what to fix."""
