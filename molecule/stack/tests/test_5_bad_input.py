"""Drill: invalid configurations, each one `ansible-playbook site.yml -e @file` (three at a time).
Each fails in the preflight play, with an error naming the variable, without showing a rejected
secret, and leaves every host as it was (sha256 of the files the roles write, MainPID and
ActiveEnterTimestamp of every service)."""
import pytest
from bad_input_cases import BAD_INPUT
from stacklib import check, note


@pytest.mark.parametrize("case", BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_bad_input_fails_before_any_change(case, bad_input_results):
    name, extra_vars, variable, _drop = case
    res = bad_input_results["cases"][name]
    run = res["run"]
    messages = " ".join(run.failures())
    later_plays = [play for play in run.plays if not play.startswith("Preflight")]
    # A rejected secret is not shown either.
    shown = [k for k, v in extra_vars.items() if ("password" in k or "secret" in k or "passphrase" in k) and v and v in run.output]
    problems = [f"site.yml accepted {name}"] * (run.returncode == 0) + \
        [f"no error names {variable}: {messages[:1500]}"] * (variable not in messages) + \
        [f"the run went on to {later_plays}"] * bool(later_plays) + \
        [f"changed on the hosts: {res['changed']}"] * bool(res["changed"]) + \
        [f"the rejected value of {shown} is in the output"] * bool(shown)
    check(f"bad {name}", f"rc {run.returncode}, {'named' if variable in messages else 'NOT NAMED'}, "
          f"{len(res['changed'])} diff", "rc>0,name,0", not problems, problems)


def test_bad_input_left_the_hosts_as_they_were(bad_input_results):
    note("bad input: cases", f"{len(BAD_INPUT)} in {bad_input_results['seconds']:.0f} s")
    after = bad_input_results["after"]
    check("bad input: hosts changed", len(after), "0", not after, after)
