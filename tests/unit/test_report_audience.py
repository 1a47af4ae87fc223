"""Who reads which report (crm/analytics/audience.py): the managers report is for leaders."""

from __future__ import annotations

import pytest

from crm.access import Actor
from crm.analytics import audience
from crm.errors import AccessDenied
from crm.models.enums import Role

MANAGER = Actor(id=1, role=Role.MANAGER, department_id=1)
HEAD = Actor(id=2, role=Role.HEAD, department_id=1)
DIRECTOR = Actor(id=3, role=Role.DIRECTOR, department_id=None)
EVERY_REPORT = ["abc", "xyz", "matrix", "funnel", "forecast", "managers", "inquiries",
                "forgotten", "claims", "events"]  # fmt: skip


@pytest.mark.parametrize("leader", [HEAD, DIRECTOR])
def test_leaders_read_every_report(leader: Actor) -> None:
    assert all(audience.may_read(leader, report) for report in EVERY_REPORT)
    audience.check_may_read(leader, "managers")


def test_a_manager_reads_every_report_but_the_managers_one() -> None:
    readable = [r for r in EVERY_REPORT if audience.may_read(MANAGER, r)]
    assert readable == [r for r in EVERY_REPORT if r != "managers"]
    with pytest.raises(AccessDenied):
        audience.check_may_read(MANAGER, "managers")
    audience.check_may_read(MANAGER, "funnel")
