"""The hand-written access matrix, one fragment per domain (see tests/unit/test_access_matrix.py).

Each module defines `ROUTES`, a dict of (method, path) to the roles allowed; every module here is
picked up. Each domain owns its fragment, so work on different domains never edits one file.
"""
