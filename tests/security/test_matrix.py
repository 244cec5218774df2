"""Every cell of the permission matrix (`matrix.py`): the answer and whether the object's
content is in it, for each role asking."""

import pytest

from tests.security.matrix import ROLES, ROWS, Row

pytestmark = pytest.mark.django_db

CASES = [(row, role) for row in ROWS for role in ROLES]


def answer(response, canary: str) -> str:
    if response.status_code != 200:
        return str(response.status_code)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return "S" if canary.encode() in body else "H"


@pytest.mark.parametrize(
    ("row", "role"),
    CASES,
    ids=[f"{row.surface}:{row.route}:{row.thing}:{row.method}:{role}" for row, role in CASES],
)
def test_each_role_gets_the_matrix_answer(world, row: Row, role: str):
    canary = row.canary if isinstance(row.canary, str) else row.canary(world)
    send = getattr(world.clients[role], row.method)
    kwargs = {"content_type": "application/json", "data": {}} if row.method != "get" else {}

    got = answer(send(row.url(world), **kwargs), canary)

    assert got == row.expected[role]
