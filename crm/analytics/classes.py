"""ABC and XYZ classes decided in SQL, so that a report reads back only the rows it shows.

The rules are those of crm/analytics/abc_xyz.py (and of `classify_abc` and `xyz_class`
there, which crm/analytics/holdings.py still uses on sums it adds up itself):

- ABC: the rows ranked by value, highest first (ties: lower key first); `ranked` adds
  each row's running total and the grand total as window sums, and `abc_of` turns them
  into the class: A while the running total *before* the row is below a % of the total,
  B below a + b %, else C; all C when the total is not positive.
- XYZ: with T = Σ monthly revenue and Q = Σ its squares over N months, CV² =
  (N·Q − T²) / T², so CV ≤ t % ⇔ N·Q·10⁴ ≤ T²·(10⁴ + t²): compared with no division
  and no square root, in double precision on both databases (Q is a float,
  `sum_of_squares`, and T² of a large client passes 2⁶³): exact while the products stay
  under 2⁵³, else to a few parts in 10¹⁶, which matters on an exact tie only.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Float, SQLColumnExpression, Subquery, case, cast, func

from crm.models.enums import CompanyStage

REGULAR = CompanyStage.REGULAR.value


def ranked(
    source: Subquery, value: str, key: str, *, prefix: str = "", rank: bool = False
) -> list[ColumnElement[Any]]:
    """Window columns over `source` ranked by `value` desc, `key` asc: `{prefix}cum` (the
    running total including the row), `{prefix}total` and, with `rank`, `{prefix}rank`
    (1 for the highest). The running total and the rank share one window definition, so
    SQLite sorts the rows once for both (it sorts once per distinct window).

    Rows that stand for no sales in the period (a value of 0 in movers) may be ranked
    with the others: whatever their place, they add nothing to anyone's running total."""
    v, k = source.c[value], source.c[key]
    running: dict[str, Any] = {"order_by": (v.desc(), k), "rows": (None, 0)}
    columns: list[ColumnElement[Any]] = [
        func.sum(v).over(**running).label(f"{prefix}cum"),
        func.sum(v).over().label(f"{prefix}total"),
    ]
    if rank:
        columns.append(func.row_number().over(**running).label(f"{prefix}rank"))
    return columns


def abc_of(
    value: ColumnElement[Any],
    cum: ColumnElement[Any],
    total: ColumnElement[Any],
    edges: tuple[int, int],
) -> ColumnElement[str]:
    """The ABC class of a row from its value, running total and grand total (`ranked`);
    `edges`: the A and A + B percentages."""
    a_edge, b_edge = edges
    before = (cum - value) * 100
    return case(
        (total <= 0, "C"),
        (before < total * a_edge, "A"),
        (before < total * b_edge, "B"),
        else_="C",
    )


def xyz_of(
    stage: SQLColumnExpression[Any] | None,
    months: int,
    t: ColumnElement[Any],
    q: ColumnElement[Any],
    thresholds: tuple[int, int],
) -> ColumnElement[Any]:
    """X, Y or Z of a regular client from T and Q over `months` months (Z with nothing
    bought: NULL T and Q count as nothing); any other client's stage. With `stage` None
    every row is taken for a regular client's."""
    x, y = thresholds
    total = func.coalesce(t, 0)
    lhs = func.coalesce(q, 0) * float(months * 10000)
    square = cast(total, Float) * total
    classes: list[tuple[Any, Any]] = []
    if stage is not None:
        classes.append((stage != REGULAR, stage))
    classes += [
        (total <= 0, "Z"),
        (lhs <= square * (10000 + x * x), "X"),
        (lhs <= square * (10000 + y * y), "Y"),
    ]
    return case(*classes, else_="Z")


def regular_xyz(
    stage: SQLColumnExpression[Any],
    months: int,
    t: ColumnElement[Any],
    q: ColumnElement[Any],
    thresholds: tuple[int, int],
) -> ColumnElement[Any]:
    """X, Y or Z of a regular client; NULL for the others (movers compare regular ones)."""
    return case((stage == REGULAR, xyz_of(None, months, t, q, thresholds)))


def xyz_rank(xyz: ColumnElement[Any]) -> ColumnElement[int]:
    """0, 1, 2 for X, Y, Z and 3 for a stage: an order that no collation can change."""
    return case((xyz == "X", 0), (xyz == "Y", 1), (xyz == "Z", 2), else_=3)
