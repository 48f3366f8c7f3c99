import pytest


@pytest.mark.compile
def test_placeholder() -> None:
    """Imports the integration tests without running them (make compile)."""
