"""Under scripts/test-python.sh the tests run the installed package, not the source tree."""
import os

import orchlog

from conftest import PACKAGE_ROOT


def test_the_package_under_test_is_the_installed_one():
    venv = os.environ.get("ORCHLOG_EXPECT_INSTALLED")
    here = os.path.realpath(orchlog.__file__)
    if venv:
        assert here.startswith(os.path.realpath(venv) + os.sep), here
    assert orchlog.__file__.endswith(os.path.join("orchlog", "__init__.py"))
    if venv:
        assert not here.startswith(os.path.realpath(PACKAGE_ROOT) + os.sep)
