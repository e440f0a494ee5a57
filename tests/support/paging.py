"""The paging policy, as the tests state it once: the tier decides who is woken."""

from support.questions import choices

# Tier 3 is best effort: its page-severity alerts wait in the team's queue.
TIERS_THAT_PAGE = frozenset({1, 2})
TIERS = tuple(choices("tier"))
