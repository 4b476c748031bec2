"""``policy.can`` knows every action it is asked about: a misspelt name is a bug to see, not a refusal."""

from __future__ import annotations

import pytest

from app import policy


@pytest.mark.parametrize("user", [None, object()])
def test_an_unknown_action_raises_whoever_asks(user: object) -> None:
    with pytest.raises(LookupError, match="'edit_psot'"):
        policy.can(user, "edit_psot")


def test_authorize_raises_too() -> None:
    with pytest.raises(LookupError, match="'delete_everything'"):
        policy.authorize(None, "delete_everything")


def test_a_known_action_is_still_denied_to_nobody() -> None:
    assert "edit_post" in policy.ACTIONS
    assert policy.can(None, "edit_post") is False
