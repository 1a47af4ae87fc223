"""The deal stage rules (crm/services/deals/stages.py): which moves a card offers, who reopens a
closed deal and to which stage."""

from __future__ import annotations

import pytest

from crm.access import Actor
from crm.models import Deal, DealStageChange
from crm.models.enums import DealStage, Role
from crm.services.deals import StageMoves, allowed_moves, may_reopen, reopen_stage

MANAGER = Actor(id=1, role=Role.MANAGER, department_id=1)
HEAD = Actor(id=2, role=Role.HEAD, department_id=1)
DIRECTOR = Actor(id=3, role=Role.DIRECTOR, department_id=None)


def changes(*moves: tuple[str | None, str]) -> list[DealStageChange]:
    """Stage changes, newest first (as a deal card holds them)."""
    return [DealStageChange(from_stage=a, to_stage=b) for a, b in moves]


@pytest.mark.parametrize("actor", [MANAGER, HEAD, DIRECTOR])
def test_an_open_deal_moves_one_stage_either_way_and_closes(actor: Actor) -> None:
    assert allowed_moves(actor, Deal(stage="lead")) == StageMoves(
        forward=DealStage.QUALIFIED, close=True
    )
    assert allowed_moves(actor, Deal(stage="proposal")) == StageMoves(
        back=DealStage.QUALIFIED, forward=DealStage.NEGOTIATION, close=True
    )
    assert allowed_moves(actor, Deal(stage="negotiation")) == StageMoves(
        back=DealStage.PROPOSAL, close=True
    )


@pytest.mark.parametrize("stage", ["won", "lost"])
def test_closed_is_final_for_a_manager(stage: str) -> None:
    assert not may_reopen(MANAGER)
    assert allowed_moves(MANAGER, Deal(stage=stage), changes(("proposal", stage))) == StageMoves()


@pytest.mark.parametrize("actor", [HEAD, DIRECTOR])
def test_a_leader_reopens_to_the_stage_the_deal_was_closed_from(actor: Actor) -> None:
    assert may_reopen(actor)
    history = changes(("qualified", "won"), ("lead", "qualified"), (None, "lead"))
    assert allowed_moves(actor, Deal(stage="won"), history) == StageMoves(
        reopen=DealStage.QUALIFIED
    )


def test_reopen_stage_reads_the_newest_close_into_the_current_stage() -> None:
    # lost from proposal, reopened to negotiation, lost again from negotiation
    history = changes(
        ("negotiation", "lost"),
        ("lost", "negotiation"),
        ("proposal", "lost"),
        ("lead", "proposal"),
    )
    assert reopen_stage("lost", history) == DealStage.NEGOTIATION
    # won, then a head moved it from won straight to lost: won is no stage to return to
    assert reopen_stage("lost", changes(("won", "lost"), ("lead", "won"))) == (
        DealStage.NEGOTIATION
    )
    assert reopen_stage("won", changes(("won", "lost"), ("lead", "won"))) == DealStage.LEAD


def test_without_history_a_closed_deal_returns_to_negotiation() -> None:
    assert reopen_stage(DealStage.WON, []) == DealStage.NEGOTIATION
    assert allowed_moves(HEAD, Deal(stage="lost")) == StageMoves(reopen=DealStage.NEGOTIATION)
