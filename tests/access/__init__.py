"""The hand-written access matrix, one fragment per domain (see tests/unit/test_access_matrix.py).

Each domain owns its fragment file, so work on different domains never edits the same lines.
"""
