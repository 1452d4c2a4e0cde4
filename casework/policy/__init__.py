"""Policy files: which steps of a flow may run on their own, and when a human must sign off.

Policies are plain YAML that an automation team and a legal reviewer can read together; this
package loads them, refuses anything unclear with a line-numbered message, and routes each step.
"""

from casework.policy.conditions import Condition, ConditionError, parse_condition
from casework.policy.engine import Route, route
from casework.policy.errors import PolicyError, PolicyProblem
from casework.policy.loader import (
    Policy,
    check_against_flow,
    load_policies,
    load_policy,
    policy_path,
)
from casework.policy.model import FlowPolicy, SignoffBy, StepPolicy

__all__ = [
    "Condition",
    "ConditionError",
    "FlowPolicy",
    "Policy",
    "PolicyError",
    "PolicyProblem",
    "Route",
    "SignoffBy",
    "StepPolicy",
    "check_against_flow",
    "load_policies",
    "load_policy",
    "parse_condition",
    "policy_path",
    "route",
]
