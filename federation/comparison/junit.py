"""JUnit XML as CI servers read it (Jenkins, GitLab, GitHub's test reporters): one testcase per Check.

Written with junitparser, then held to the schema Jenkins validates against (xunit-plugin's junit-10.xsd):
<testsuites> takes no `skipped` attribute there, and times are plain decimals (no exponent).
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

from .checks import Check


def _seconds(value: float | None) -> float:
    return round(max(value or 0.0, 0.0), 3)


def write_junit(path: str | Path, suites: Mapping[str, Sequence[Check]], name: str = "federation") -> Path:
    """Write `path`: a <testsuites> named `name` with one <testsuite> per entry of `suites` and one <testcase>
    per Check (classname: the suite; a <failure> with the Check's message when it failed); return the path."""
    from junitparser import Failure, JUnitXml, TestCase, TestSuite

    xml = JUnitXml(name)
    for suite_name, checks in suites.items():
        suite = TestSuite(suite_name)
        for check in checks:
            case = TestCase(check.name, classname=suite_name, time=_seconds(check.duration))
            if not check.passed:
                first_line = check.message.splitlines()[0] if check.message else "failed"
                failure = Failure(first_line, "failure")
                failure.text = check.message or "failed"
                case.result = [failure]
            elif check.message:
                case.system_out = check.message
            suite.add_testcase(case)
        suite.update_statistics()
        suite.time = _seconds(sum(c.duration or 0.0 for c in checks))
        xml.add_testsuite(suite)
    xml.update_statistics()
    xml.time = _seconds(sum(c.duration or 0.0 for checks in suites.values() for c in checks))
    if "skipped" in xml._elem.attrib:  # not an attribute of <testsuites> in Jenkins' schema
        del xml._elem.attrib["skipped"]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    xml.write(str(path), pretty=True)
    return path
