"""The migration gate (`make check`): each module holds one guard, gate.py runs them all.

Every guard returns Failures, each naming the revision, the rule and the fix.
"""
