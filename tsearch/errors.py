"""Errors a user can cause (configs, paths, images, flags): the CLI prints one line, exits 2."""


class UserError(Exception):
    """Bad input from the user. ``str(exc)`` is the whole message, naming the culprit."""
