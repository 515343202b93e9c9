"""Fixtures of the io tests: XSD validators loaded offline from ../shared/schemas."""

from __future__ import annotations

import pytest
from iohelpers import Validator


@pytest.fixture(scope="session")
def page_xsd(schemas):
    return Validator(schemas / "pagecontent-2019-07-15.xsd")


@pytest.fixture(scope="session")
def alto_xsd(schemas):
    return Validator(schemas / "alto-4-3.xsd")


@pytest.fixture(scope="session")
def alto42_xsd(schemas):
    return Validator(schemas / "alto-4-2.xsd")


@pytest.fixture(scope="session")
def page2013_xsd(schemas):
    return Validator(schemas / "pagecontent-2013-07-15.xsd")
